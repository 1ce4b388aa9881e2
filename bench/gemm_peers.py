#!/usr/bin/python3
"""bench/gemm_peers.py: the Python peers of `lowp bench gemm`, timed the way lowp times it.

bench/run_kernels.sh runs it in the same run as lowp; each case is one lowp benchmark
target done by a library a user would otherwise reach for:

  numpy_fp32_gemm        numpy.matmul, fp32 1024^3                 (the BLAS numpy loads)
  torch_fp32_gemm        torch.matmul, fp32 1024^3                 (the BLAS torch calls)
  torch_bf16_gemm        torch.matmul, bf16 x bf16 1024^3          (oneDNN, if torch routes it)
  torch_fp32_gemv_cold   F.linear, 1 x 4096 by a 4096 x 4096 weight, copies cycled
  torch_int8_gemv_cold   dynamic-quantized nn.Linear (qint8 weights), same shape, cycled
  torch_fp32_small_m64   F.linear, 64 x 100 by 50 x 100 (SimpleNet's first layer, batch 64)
  torch_fp32_small_m1    the same at batch 1
  torch_int8_small_m64   dynamic-quantized nn.Linear(100, 50), batch 64
  torch_int8_small_m1    the same at batch 1

Timing, as tools/lowp/gemm_bench.cc: the inputs and weights are made first; warm-up of
min(copies, 8) calls; 5 repeats of as many calls as fit in >= 0.3 s; the median time per
call. "Cold" cases cycle through enough weight copies to total 8x the last-level cache
(sysfs), as `lowp bench gemm --cold` does. GFLOP/s = 2 m n k / time; weight GB/s = the
weight bytes lowp counts for that dtype (fp32 4nk, bf16 2nk, int8 nk + 4n) / time, so the
ratio of two GB/s figures is the ratio of their times. Every figure includes Python's cost
of one call (a few microseconds), which dominates the small shapes: that is how the
library is used from Python, and the oneDNN peer (bench/onednn/) shows the C++ side.

What ran is recorded, not assumed: threadpoolctl's view of the BLAS (library, version,
kernel architecture, threads), torch's quantized engine, and, from a probe subprocess with
DNNL_VERBOSE=1, the oneDNN primitive and implementation each torch case executes (none
means the case did not go through oneDNN, i.e. it ran in the BLAS or in torch's own code).

Usage: /usr/bin/python3 bench/gemm_peers.py [--threads T] [--case NAME ...] [--no-probe]
Prints one JSON object. Needs Debian's python3-torch, python3-numpy and
python3-threadpoolctl (scripts/setup.sh --bench), so /usr/bin/python3. Thread counts are
pinned through the environment before numpy and torch load: Debian's torch calls OpenBLAS,
whose own threads torch.set_num_threads does not reach. OPENBLAS_CORETYPE, when set, picks
OpenBLAS's kernel: run_kernels.sh unsets it (and OPENBLAS_L2_SIZE) for this script.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

MIN_SECONDS, REPEATS = 0.3, 5

# name: (library, dtype, m, n, k, cold)
CASES = {
    "numpy_fp32_gemm": ("numpy", "fp32", 1024, 1024, 1024, False),
    "torch_fp32_gemm": ("torch", "fp32", 1024, 1024, 1024, False),
    "torch_bf16_gemm": ("torch", "bf16", 1024, 1024, 1024, False),
    "torch_fp32_gemv_cold": ("torch", "fp32", 1, 4096, 4096, True),
    "torch_int8_gemv_cold": ("torch", "int8", 1, 4096, 4096, True),
    "torch_fp32_small_m64": ("torch", "fp32", 64, 50, 100, False),
    "torch_fp32_small_m1": ("torch", "fp32", 1, 50, 100, False),
    "torch_int8_small_m64": ("torch", "int8", 64, 50, 100, False),
    "torch_int8_small_m1": ("torch", "int8", 1, 50, 100, False),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--case", action="append", choices=sorted(CASES), help="repeatable; default all")
    p.add_argument("--no-probe", action="store_true", help="skip the DNNL_VERBOSE probe")
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)  # the probe child
    return p.parse_args()


def last_level_cache_bytes():
    """As tools/lowp/gemm_bench.cc: the highest cache index in sysfs, else 64 MiB."""
    for index in (4, 3, 2):
        try:
            with open(f"/sys/devices/system/cpu/cpu0/cache/index{index}/size") as f:
                text = f.read().strip()
        except OSError:
            continue
        value = int(re.match(r"\d+", text).group())
        return value << {"K": 10, "M": 20}.get(text[-1], 0)
    return 64 << 20


def weight_bytes(dtype, n, k):
    return {"fp32": 4 * n * k, "bf16": 2 * n * k, "int8": n * k + 4 * n}[dtype]


def copies_for(cold, nbytes):
    if not cold:
        return 1
    return max(2, -(-8 * last_level_cache_bytes() // nbytes))


def build(name, copies):
    """The case's call(i) on weight copy i, everything allocated before it returns."""
    import numpy as np
    library, dtype, m, n, k, _ = CASES[name]
    rng = np.random.default_rng(0)
    if library == "numpy":
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        ws = [rng.uniform(-1, 1, (k, n)).astype(np.float32) for _ in range(copies)]
        return lambda i: np.matmul(a, ws[i])

    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    if dtype == "int8":
        qlinear = torch.ao.quantization.quantize_dynamic
        mods = []
        for _ in range(copies):
            layer = torch.nn.Sequential(torch.nn.Linear(k, n))
            mods.append(qlinear(layer, {torch.nn.Linear}, dtype=torch.qint8).eval())
        x = torch.rand(m, k) * 2 - 1
        return lambda i: mods[i](x)
    tdtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    if m == 1024 and n == 1024:  # the GEMM cases: C = A B, as numpy
        a = (torch.rand(m, k) * 2 - 1).to(tdtype)
        ws = [(torch.rand(k, n) * 2 - 1).to(tdtype) for _ in range(copies)]
        return lambda i: torch.matmul(a, ws[i])
    x = (torch.rand(m, k) * 2 - 1).to(tdtype)  # the layer cases: y = x W^T, W [n, k]
    ws = [(torch.rand(n, k) * 2 - 1).to(tdtype) for _ in range(copies)]
    return lambda i: F.linear(x, ws[i])


def time_case(name):
    library, dtype, m, n, k, cold = CASES[name]
    nbytes = weight_bytes(dtype, n, k)
    copies = copies_for(cold, nbytes)
    call = build(name, copies)
    for i in range(min(copies, 8)):
        call(i)
    per_call = []
    nxt = 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        calls = 0
        while True:
            call(nxt)
            nxt = (nxt + 1) % copies
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= MIN_SECONDS:
                break
        per_call.append(elapsed / calls)
    seconds = statistics.median(per_call)
    return {"case": name, "library": library, "dtype": dtype, "m": m, "n": n, "k": k,
            "cold": cold, "copies": copies, "seconds_per_call": seconds,
            "gflops": 2.0 * m * n * k / seconds * 1e-9, "weight_bytes": nbytes,
            "weight_gbytes_per_s": nbytes / seconds * 1e-9}


def probe(names):
    """Child: one call of each case between marker lines; DNNL_VERBOSE prints the rest.

    oneDNN writes through C's stdio buffer, Python through its own: both are flushed around
    every marker so the lines arrive in the order they were written.
    """
    import ctypes
    import torch
    libc = ctypes.CDLL(None)
    with torch.inference_mode():
        for name in names:
            call = build(name, 1)
            call(0)  # creation, and any one-off reorder, happen here
            libc.fflush(None)
            print(f"@@case {name}", flush=True)
            call(0)
            libc.fflush(None)
            print("@@end", flush=True)


def run_probe(names, threads):
    env = dict(os.environ, DNNL_VERBOSE="1", ONEDNN_VERBOSE="1")
    cmd = [sys.executable, os.path.abspath(__file__), "--probe", "--threads", str(threads)]
    for name in names:
        cmd += ["--case", name]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    found = {name: [] for name in names}
    info = []
    current = None
    for line in out.splitlines():
        if line.startswith("@@case "):
            current = line.split()[1]
            continue
        if line == "@@end":  # the next case's set-up is not its call
            current = None
            continue
        fields = line.split(",")
        if len(fields) > 4 and fields[0] in ("dnnl_verbose", "onednn_verbose"):
            if fields[1] == "info":
                info.append(",".join(fields[2:]))
            elif fields[1] == "exec" and current is not None:
                entry = f"{fields[3]} {fields[4]} ({fields[6]})"  # primitive, impl, memory descs
                if entry not in found[current]:
                    found[current].append(entry)
    return found, info


def main():
    args = parse_args()
    if args.threads < 1:
        sys.exit("gemm_peers: --threads must be >= 1")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    names = args.case or list(CASES)
    if args.probe:
        import torch
        torch.set_num_threads(args.threads)
        probe(names)
        return

    import numpy as np
    import threadpoolctl
    out = {"tool": "gemm_peers", "python": platform.python_version(), "numpy_version": np.__version__,
           "threads": args.threads,
           "env": {v: os.environ.get(v) for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                   "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}}
    torch_cases = [n for n in names if CASES[n][0] == "torch"]
    if torch_cases:
        import torch
        torch.set_num_threads(args.threads)
        out["torch_version"] = torch.__version__
        config = torch.__config__.show()
        capability = re.search(r"CPU capability usage: (\S+)", config)
        blas_info = re.search(r"BLAS_INFO=(\w+)", config)
        out["torch_cpu_capability"] = capability.group(1) if capability else None
        # "generic": torch calls libblas.so.3, whichever BLAS Debian's alternatives point at.
        out["torch_blas_info"] = blas_info.group(1) if blas_info else None
        out["libblas_so_3"] = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
        out["torch_mkldnn_available"] = torch.backends.mkldnn.is_available()
        out["torch_quantized_engine"] = torch.backends.quantized.engine
        out["torch_quantized_engines"] = list(torch.backends.quantized.supported_engines)
        out["torch_threads"] = torch.get_num_threads()
    results = []
    if torch_cases:
        import torch
        with torch.inference_mode():
            results += [time_case(n) for n in names if CASES[n][0] == "torch"]
    results += [time_case(n) for n in names if CASES[n][0] == "numpy"]
    results.sort(key=lambda r: names.index(r["case"]))
    # threadpoolctl after the cases ran: every BLAS that numpy or torch loaded is in memory.
    out["blas"] = [{key: lib.get(key) for key in ("internal_api", "version", "architecture",
                                                  "threading_layer", "num_threads", "filepath")}
                   for lib in threadpoolctl.threadpool_info()]
    if torch_cases and not args.no_probe:
        found, info = run_probe(torch_cases, args.threads)
        out["onednn_info"] = info
        for r in results:
            if r["case"] in found:
                r["onednn"] = found[r["case"]]
    out["results"] = results
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
