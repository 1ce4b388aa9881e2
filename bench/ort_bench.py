#!/usr/bin/env python3
"""bench/ort_bench.py: ONNX Runtime, the peer, timing one ONNX model on the CPU.

Measures, for MODEL.onnx with CPUExecutionProvider and all graph optimizations:
  load        session creation (reading, optimizing and preparing the model), the median
              of 5 creations, in milliseconds;
  latency     one session.run on a fixed input: warm-up runs for >= 0.2 s (and >= 5
              runs), then timed runs until >= --min-time seconds (and >= 10 runs) have
              passed; the median and the 90th percentile, in microseconds. A run is timed
              from Python, so it includes the binding's overhead and the copy of the outputs
              into new numpy arrays: a few microseconds, visible only on tiny models;
  throughput  batch x timed runs / their total time, in samples per second;
  memory      the process's peak resident set (getrusage ru_maxrss) at the end, and its
              resident set just before the first session, both in MiB (the difference is
              what the model and ONNX Runtime took; the peak includes the load loop).
Threads: intra_op_num_threads = --threads, inter_op_num_threads = 1, sequential execution.

Inputs are random, made before timing, with the model's declared shapes: the first dynamic
dimension of each input becomes --batch, any other dynamic one --seq (default 128, the
sequence length). float inputs are standard normal; integer inputs are ids in [0, 100),
or all ones when the input's name contains "mask"; bool inputs are all true.

Usage (the virtualenv of scripts/setup.sh, which has onnxruntime):
  .venv/bin/python bench/ort_bench.py MODEL.onnx [--threads T] [--batch B] [--seq S] [--json]
Prints one JSON object with --json, else a one-line summary and then the JSON object.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

LOAD_REPEATS = 5
WARMUP_SECONDS, WARMUP_MIN_RUNS = 0.2, 5
MIN_TIMED_RUNS = 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    parser.add_argument("--batch", type=int, default=1, help="batch size for dynamic dim 0 (default 1)")
    parser.add_argument("--seq", type=int, default=128,
                        help="size of any other dynamic dimension (default 128)")
    parser.add_argument("--min-time", type=float, default=1.0,
                        help="seconds of timed runs, at least (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    for name in ("threads", "batch", "seq"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if args.min_time <= 0:
        parser.error("--min-time must be > 0")
    return args


def fail(message):
    sys.exit(f"ort_bench: {message}")


def rss_mib():
    """Current resident set, from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_inputs(session, batch, seq, rng, np):
    """Random feeds for the session's declared inputs; returns (feeds, {name: shape})."""
    # ONNX Runtime's type strings -> numpy dtypes.
    dtypes = {
        "tensor(float)": np.float32, "tensor(double)": np.float64,
        "tensor(float16)": np.float16, "tensor(int64)": np.int64, "tensor(int32)": np.int32,
        "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_,
    }
    feeds, shapes = {}, {}
    for inp in session.get_inputs():
        if inp.type not in dtypes:
            fail(f"input {inp.name} has type {inp.type}, which this script does not generate")
        # A dynamic dimension is a string (symbolic) or None / a non-positive number.
        shape, first_dynamic = [], True
        for dim in inp.shape:
            if isinstance(dim, int) and dim > 0:
                shape.append(dim)
            else:
                shape.append(batch if first_dynamic else seq)
                first_dynamic = False
        dtype = dtypes[inp.type]
        if dtype == np.bool_:
            value = np.ones(shape, dtype=dtype)
        elif np.issubdtype(dtype, np.integer):
            if "mask" in inp.name.lower():
                value = np.ones(shape, dtype=dtype)
            else:
                value = rng.integers(0, 100, size=shape).astype(dtype)
        else:
            value = rng.standard_normal(shape).astype(dtype)
        feeds[inp.name] = value
        shapes[inp.name] = shape
    return feeds, shapes


def main():
    args = parse_args()
    if not os.path.isfile(args.model):
        fail(f"{args.model}: no such file")
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as err:
        fail(f"cannot import onnxruntime and numpy with {sys.executable} ({err}); "
             "run scripts/setup.sh and use .venv/bin/python")

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

    rss_before = rss_mib()
    load_ms = []
    session = None
    for _ in range(LOAD_REPEATS):
        session = None  # release the previous session before timing the next one
        start = time.perf_counter()
        try:
            session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001: ONNX Runtime raises its own exception types
            fail(f"{args.model}: onnxruntime cannot load it: {err}")
        load_ms.append((time.perf_counter() - start) * 1e3)

    rng = np.random.default_rng(args.seed)
    feeds, shapes = make_inputs(session, args.batch, args.seq, rng, np)
    # The batch is what the model takes: a model exported with static shapes keeps its own.
    first = next(iter(shapes.values()), [])
    batch = first[0] if first else 1
    if batch != args.batch:
        print(f"ort_bench: {args.model} has a static batch of {batch}; --batch {args.batch} "
              "does not apply", file=sys.stderr)
    run = session.run
    clock = time.perf_counter

    # Warm-up: the first runs allocate the memory arena and fill the caches.
    start, runs = clock(), 0
    while runs < WARMUP_MIN_RUNS or clock() - start < WARMUP_SECONDS:
        run(None, feeds)
        runs += 1

    times = []
    start = clock()
    while len(times) < MIN_TIMED_RUNS or clock() - start < args.min_time:
        t0 = clock()
        run(None, feeds)
        times.append(clock() - t0)
    total = clock() - start

    result = {
        "model": args.model,
        "onnxruntime_version": ort.__version__,
        "provider": session.get_providers()[0],
        "threads": args.threads,
        "batch": batch,
        "inputs": shapes,
        "load_ms": statistics.median(load_ms),
        "latency_us_median": statistics.median(times) * 1e6,
        "latency_us_p90": float(np.percentile(times, 90)) * 1e6,
        "runs": len(times),
        "throughput_sps": batch * len(times) / total,
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10,
        "rss_before_load_mib": rss_before,
    }
    if not args.json:
        print(f"ort_bench: {os.path.basename(args.model)} threads {args.threads} batch {batch}: "
              f"load {result['load_ms']:.1f} ms, latency median {result['latency_us_median']:.1f} us "
              f"p90 {result['latency_us_p90']:.1f} us ({result['runs']} runs), "
              f"{result['throughput_sps']:.1f} samples/s, peak RSS {result['peak_rss_mib']:.0f} MiB")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
