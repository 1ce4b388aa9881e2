#!/usr/bin/python3
"""bench/simplenet_torch.py: PyTorch, the peer, on lowp's SimpleNet, timed the way lowp times it.

SimpleNet = Linear(100, 50) -> ReLU -> Linear(50, 10), fp32, eval mode, under
torch.inference_mode(). Two variants are measured:
  eager  the nn.Sequential module called directly;
  jit    the same module after torch.jit.trace + torch.jit.freeze.

The timing mirrors lowp's src/runtime/measure.cc exactly:
  batch-1 latency  200 warm-up calls, then 51 blocks of 200 consecutive single-sample
                   calls (the sample index keeps counting across warm-up and blocks and
                   wraps around the 10,000 test rows); per-call time = block time / 200;
                   the median over the 51 blocks is reported, in microseconds.
                   The [1, 100] input tensors are made before timing, so neither slicing
                   nor tensor creation is timed, only the module call.
  throughput       the whole 10,000-row set in batches of 256 (the last batch has 16
                   rows), one warm-up pass, then 5 repeats of as many passes as fit in
                   >= 0.2 s; the median of the 5 rates, in samples per second.

Inputs are 10,000 random rows of 100 float32 features shaped like the PCA projection of
Fashion-MNIST (normal, std falling from 5 to 0.5 over the components); latency does not
depend on the values. `--features PATH.npy` uses real features instead ([rows, 100] float32).

Usage: /usr/bin/python3 bench/simplenet_torch.py [--threads T] [--features PATH.npy]
Prints one JSON object to stdout. Needs Debian's python3-torch (scripts/setup.sh --bench)
and therefore /usr/bin/python3, not a python3 from pyenv or a virtual environment.
"""

import argparse
import json
import os
import statistics
import sys
import time

ROWS = 10_000
IN_FEATURES, HIDDEN, CLASSES = 100, 50, 10
WARMUP_CALLS, BLOCKS, CALLS_PER_BLOCK = 200, 51, 200
BATCH, MIN_SECONDS, REPEATS = 256, 0.2, 5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--features", help="optional .npy of [rows, 100] float32 inputs")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads < 1:
        sys.exit("simplenet_torch: --threads must be >= 1")
    # Debian's torch calls a BLAS with threads of its own (OpenBLAS, pthread variant), which
    # torch.set_num_threads does not reach: pin it before the library is loaded.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    try:
        import torch
    except ImportError as err:
        sys.exit(f"simplenet_torch: cannot import torch with {sys.executable} ({err}); "
                 "run `scripts/setup.sh --bench` and use /usr/bin/python3")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    if args.features:
        import numpy as np
        x = torch.from_numpy(np.ascontiguousarray(np.load(args.features), dtype=np.float32))
        if x.ndim != 2 or x.shape[1] != IN_FEATURES:
            sys.exit(f"simplenet_torch: {args.features} is {tuple(x.shape)}, want [rows, {IN_FEATURES}]")
        features = f"file {args.features}"
    else:
        std = torch.linspace(5.0, 0.5, IN_FEATURES)
        x = torch.randn(ROWS, IN_FEATURES) * std
        features = "random normal, std 5 -> 0.5 over the 100 components"
    x = x.contiguous()
    rows = x.shape[0]

    model = torch.nn.Sequential(
        torch.nn.Linear(IN_FEATURES, HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN, CLASSES),
    ).eval()

    # Inputs made beforehand: one [1, 100] tensor per row (own storage, contiguous) and
    # the batches of 256 (views into x, contiguous since they are whole rows).
    singles = [x[i:i + 1].clone() for i in range(rows)]
    batches = list(torch.split(x, BATCH))

    with torch.no_grad():
        traced = torch.jit.trace(model, singles[0])
        frozen = torch.jit.freeze(traced)

    def median_latency_us(module):
        sample = 0
        for _ in range(WARMUP_CALLS):
            module(singles[sample % rows])
            sample += 1
        per_call = []
        clock = time.perf_counter
        for _ in range(BLOCKS):
            start = clock()
            for _ in range(CALLS_PER_BLOCK):
                module(singles[sample % rows])
                sample += 1
            per_call.append((clock() - start) * 1e6 / CALLS_PER_BLOCK)
        return statistics.median(per_call)

    def throughput_sps(module):
        def run_all():
            for b in batches:
                module(b)
        run_all()  # warm-up
        rates = []
        clock = time.perf_counter
        for _ in range(REPEATS):
            start = clock()
            done = 0
            while True:
                run_all()
                done += rows
                if clock() - start >= MIN_SECONDS:
                    break
            rates.append(done / (clock() - start))
        return statistics.median(rates)

    result = {
        "torch_version": torch.__version__,
        "threads": args.threads,
        "torch_threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "cpu_capability": next((line.split(":", 1)[1].strip()
                                for line in torch.__config__.show().splitlines()
                                if "CPU capability usage" in line), "unknown"),
        "features": features,
        "rows": rows,
    }
    with torch.inference_mode():
        # Same outputs from both variants, or the comparison would be meaningless.
        if not torch.allclose(model(x[:64]), frozen(x[:64]), atol=1e-5):
            sys.exit("simplenet_torch: the frozen jit module disagrees with the eager one")
        for name, module in (("eager", model), ("jit", frozen)):
            result[name] = {
                "latency_us_b1": median_latency_us(module),
                "throughput_sps": throughput_sps(module),
            }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
