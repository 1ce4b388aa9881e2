#!/usr/bin/python3
"""bench/conv_peers.py: PyTorch's convolution as the peer of `lowp bench conv`, timed as lowp times.

bench/run_conv.sh runs it in the same run as lowp, on the layers lowp just timed: --layers
is the output of `lowp bench conv --model M --json` (one JSON object per layer), so the layer
list lives in one place only (conv_bench_cases in tools/lowp/conv_bench.cc) and cannot
drift. Each layer is F.conv2d(x, w, b, stride, padding=kernel // 2, groups=groups) followed
by F.relu(inplace=True) (torchvision's nn.ReLU(inplace=True)), fp32, batch 1, in two memory
formats:

  nchw           x and w contiguous (PyTorch's default layout)
  channels_last  x and w in torch.channels_last (NHWC in memory: lowp's layout)

Timing, as tools/lowp/conv_bench.cc: inputs uniform in [-1, 1], weights in [-0.1, 0.1], bias
0.01, all made first; one warm-up call; 5 repeats of as many calls as fit in >= 0.2 s
(--min-seconds); the median time per call, under torch.inference_mode(). GFLOP/s = 2 x
output elements x (kernel^2 x in_c / groups) / time, lowp's count. Figures include Python's
cost of one call (a few microseconds: small against these layers) and whatever PyTorch does
per call: in eager mode its oneDNN path reorders the weights into oneDNN's blocked layout on
every call, and, for NCHW, the input into nChw16c and the output back.

What ran is recorded, not assumed: torch.backends.mkldnn.is_available(), and, from a probe
subprocess (one call per layer and format between marker lines), the ATen operators the call
went through (torch.profiler: aten::mkldnn_convolution is oneDNN, aten::thnn_conv2d /
aten::_slow_conv2d_forward is PyTorch's own im2col + BLAS GEMM) and, with DNNL_VERBOSE=1,
every oneDNN primitive it executed (convolution implementation, reorders). PyTorch 1.13 sends
a 1x1 stride-1 convolution at batch 1 on one thread to thnn_conv2d and the rest to oneDNN.

Usage: /usr/bin/python3 bench/conv_peers.py --layers LOWP_JSON [--threads T]
           [--format nchw|channels_last ...] [--layer REGEX] [--min-seconds S] [--no-probe]
Prints JSON lines: first one object describing the run (tool "conv_peers": versions, BLAS,
mkldnn), then one per layer and format with `lowp bench conv --json`'s fields (model, layer,
threads, in, out_c, kernel, stride, groups, ms, gflops) plus tool, format, aten, onednn.
Needs Debian's python3-torch (so /usr/bin/python3). Thread counts are pinned through the
environment before torch loads (its BLAS is OpenBLAS, whose threads torch.set_num_threads
does not reach), then torch.set_num_threads(T). bench/run_conv.sh unsets OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE for this script, as run_kernels.sh does for gemm_peers.py.
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

MIN_SECONDS, REPEATS = 0.2, 5  # lowp's: run_conv_bench's default (tools/lowp/conv_bench.h)
FORMATS = ("nchw", "channels_last")
SHAPE_KEYS = ("model", "layer", "in", "out_c", "kernel", "stride", "groups")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", required=True, help="`lowp bench conv --json` output (JSON lines)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--format", action="append", choices=FORMATS, help="repeatable; default both")
    p.add_argument("--layer", help="only the layers whose name matches this regular expression")
    p.add_argument("--min-seconds", type=float, default=MIN_SECONDS,
                   help=f"per repeat (default {MIN_SECONDS}, lowp's); lower only to try the script")
    p.add_argument("--no-probe", action="store_true", help="skip the profiler / DNNL_VERBOSE probe")
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)  # the probe child
    return p.parse_args()


def read_layers(path, pattern):
    layers = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                j = json.loads(line)
                layer = {key: j[key] for key in SHAPE_KEYS}
            except (ValueError, KeyError) as e:
                sys.exit(f"conv_peers: {path}:{number}: not a `lowp bench conv --json` line ({e})")
            if pattern is None or re.search(pattern, layer["layer"]):
                layers.append(layer)
    if not layers:
        sys.exit(f"conv_peers: no layer in {path}" + (f" matches '{pattern}'" if pattern else ""))
    return layers


def out_hw(layer):
    h, w, _ = layer["in"]
    k, s = layer["kernel"], layer["stride"]
    pad = k // 2
    return (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1


def flops(layer):
    oh, ow = out_hw(layer)
    k, c, g = layer["kernel"], layer["in"][2], layer["groups"]
    return 2.0 * oh * ow * layer["out_c"] * k * k * (c // g)


def build(layer, fmt):
    """The layer's call(), everything allocated before it returns."""
    import torch
    import torch.nn.functional as F
    h, w, c = layer["in"]
    k, s, g, oc = layer["kernel"], layer["stride"], layer["groups"], layer["out_c"]
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, c, h, w, generator=gen) * 2 - 1
    wt = (torch.rand(oc, c // g, k, k, generator=gen) * 2 - 1) * 0.1
    b = torch.full((oc,), 0.01)
    if fmt == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
        wt = wt.contiguous(memory_format=torch.channels_last)
    pad = k // 2
    return lambda: F.relu(F.conv2d(x, wt, b, s, pad, 1, g), inplace=True)


def time_call(call, min_seconds):
    call()  # warm-up, as lowp: one call
    per_call = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        calls = 0
        while True:
            call()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        per_call.append(elapsed / calls)
    return statistics.median(per_call)


# ATen operators that name the convolution backend (anything else under aten::_convolution
# is bookkeeping: empty, as_strided, resize_, ...).
BACKEND_OPS = re.compile(r"conv|mkldnn|nnpack|xnnpack|winograd|depthwise|slow|thnn|mm$|addmm|bmm")
FRONT_OPS = {"aten::conv2d", "aten::convolution", "aten::_convolution"}


def probe(layers, formats):
    """Child: per layer and format, one call between markers; DNNL_VERBOSE prints the rest.

    oneDNN writes through C's stdio buffer, Python through its own: both are flushed around
    every marker so the lines arrive in the order they were written.
    """
    import ctypes
    import torch
    libc = ctypes.CDLL(None)
    with torch.inference_mode():
        for i, layer in enumerate(layers):
            for fmt in formats:
                call = build(layer, fmt)
                call()  # creation, and any one-off work, happen here
                libc.fflush(None)
                print(f"@@case {i} {fmt}", flush=True)
                with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                    call()
                libc.fflush(None)
                names = [e.name for e in prof.events()]
                ops = [n for n in dict.fromkeys(names) if n not in FRONT_OPS and BACKEND_OPS.search(n)]
                print("@@aten " + json.dumps(ops), flush=True)
                print("@@end", flush=True)


def run_probe(args, layers, formats):
    env = dict(os.environ, DNNL_VERBOSE="1", ONEDNN_VERBOSE="1")
    cmd = [sys.executable, os.path.abspath(__file__), "--probe", "--layers", args.layers,
           "--threads", str(args.threads)]
    if args.layer:
        cmd += ["--layer", args.layer]
    for fmt in formats:
        cmd += ["--format", fmt]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    found = {}
    info = []
    current = None
    for line in out.splitlines():
        if line.startswith("@@case "):
            _, i, fmt = line.split()
            current = (int(i), fmt)
            found[current] = {"aten": [], "onednn": []}
            continue
        if line.startswith("@@aten ") and current is not None:
            found[current]["aten"] = json.loads(line[len("@@aten "):])
            continue
        if line == "@@end":
            current = None
            continue
        fields = line.split(",")
        if len(fields) > 2 and fields[0] in ("dnnl_verbose", "onednn_verbose"):
            if fields[1] == "info" and not fields[2].startswith("prim_template"):
                info.append(",".join(fields[2:]))
            elif fields[1] == "exec" and len(fields) > 6 and current is not None:
                descs = fields[6]
                entry = f"{fields[3]} {fields[4]} ({descs.strip()})"  # primitive, impl, memory
                if entry not in found[current]["onednn"]:
                    found[current]["onednn"].append(entry)
    return found, info


def main():
    args = parse_args()
    if args.threads < 1:
        sys.exit("conv_peers: --threads must be >= 1")
    if not args.min_seconds > 0:
        sys.exit("conv_peers: --min-seconds must be > 0")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    formats = args.format or list(FORMATS)
    layers = read_layers(args.layers, args.layer)

    import torch
    torch.set_num_threads(args.threads)
    if args.probe:
        probe(layers, formats)
        return

    config = torch.__config__.show()
    capability = re.search(r"CPU capability usage: (\S+)", config)
    mkldnn_version = re.search(r"MKL-DNN (v[\d.]+)", config)
    blas_info = re.search(r"BLAS_INFO=(\w+)", config)
    meta = {"tool": "conv_peers", "python": platform.python_version(), "torch_version": torch.__version__,
            "threads": args.threads, "torch_threads": torch.get_num_threads(),
            "torch_cpu_capability": capability.group(1) if capability else None,
            "torch_mkldnn_available": torch.backends.mkldnn.is_available(),
            "torch_mkldnn_enabled": torch.backends.mkldnn.enabled,
            "torch_mkldnn_version": mkldnn_version.group(1) if mkldnn_version else None,
            "torch_blas_info": blas_info.group(1) if blas_info else None,
            "libblas_so_3": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
            "min_seconds": args.min_seconds, "repeats": REPEATS,
            "env": {v: os.environ.get(v) for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}}

    results = []
    with torch.inference_mode():
        for i, layer in enumerate(layers):
            for fmt in formats:
                seconds = time_call(build(layer, fmt), args.min_seconds)
                r = {"tool": "pytorch", "format": fmt, **{k: layer[k] for k in ("model", "layer")},
                     "threads": args.threads, **{k: layer[k] for k in SHAPE_KEYS[2:]},
                     "ms": seconds * 1e3, "gflops": flops(layer) / seconds * 1e-9}
                results.append(((i, fmt), r))
                print(f"conv_peers: {layer['model']} {layer['layer']} {fmt}: {seconds * 1e3:.3f} ms",
                      file=sys.stderr)

    try:  # after the runs: every BLAS torch loaded is in memory
        import threadpoolctl
        meta["blas"] = [{key: lib.get(key) for key in ("internal_api", "version", "architecture",
                                                       "threading_layer", "num_threads")}
                        for lib in threadpoolctl.threadpool_info()]
    except ImportError:
        meta["blas"] = None
    if not args.no_probe:
        found, info = run_probe(args, layers, formats)
        meta["onednn_info"] = info
        for key, r in results:
            r.update(found.get(key, {"aten": None, "onednn": None}))
    print(json.dumps(meta))
    for _, r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
