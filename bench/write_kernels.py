#!/usr/bin/env python3
"""bench/write_kernels.py: the kernels section of docs/BENCHMARKS.md, and docs/roofline.svg.

Reads the raw results of one bench/run_kernels.sh run (its --dir: lowp_peak's JSON,
`lowp bench gemm --json` and lowp_onednn_gemm --json per target and dtype, gemm_peers.py's
JSON) and writes every figure from them, none typed by hand. Each lowp figure is set
against the ceiling that bounds it, measured on the same machine in the same run:
  GEMM (1024^3, and 64 x 50 x 100)  % of the compute peak of the instruction its kernel
                                    is built on, read from the kernel's name (f32_* runs
                                    vfmadd*ps, bf16_* vdpbf16ps, qu8_* / qd8_* vpdpbusd;
                                    __avx2 kernels the ymm FMA); 2 threads: 2 x that peak
  GEMV 1 x 4096 x 4096 cold         weight GB/s as % of the DRAM read bandwidth, and of the
                                    read bandwidth of the cold working set (8x LLC)
  1 x 50 x 100                      weight GB/s as % of the L1 read bandwidth (the few KB
                                    of weights stay in L1 between calls)
and against its peers: ratio = lowp's throughput / the peer's (above 1: lowp is faster).
Standard library only; the section is replaced through bench/doc_sections.py.
"""

import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_sections  # noqa: E402
import roofline  # noqa: E402

DTYPES_ALL = ["fp32", "fp16", "bf16", "int8", "int4"]
# key: (title, m, n, k, flags, threads, dtypes, runs), as bench/run_kernels.sh runs them.
TARGETS = {
    "gemm1024": ("GEMM 1024 x 1024 x 1024, 1 thread (best of 3 runs per tool)", 1024, 1024, 1024, "", 1,
                 ["fp32", "bf16", "int8"], 3),
    "gemm1024t2": ("GEMM 1024 x 1024 x 1024 fp32, 2 threads (best of 3 runs per tool)", 1024, 1024, 1024, "", 2,
                   ["fp32"], 3),
    "gemv4096cold": ("GEMV 1 x 4096 x 4096, cold (weights cycled past the LLC), 1 thread (best of 3 runs per tool)",
                     1, 4096, 4096, " --cold", 1, DTYPES_ALL, 3),
    "small64": ("Small layer 64 x 50 x 100 (SimpleNet's first layer, batch 64), 1 thread", 64, 50, 100, "", 1,
                DTYPES_ALL, 1),
    "small1": ("Small layer 1 x 50 x 100 (batch 1), 1 thread", 1, 50, 100, "", 1, DTYPES_ALL, 1),
}
# gemm_peers.py cases that stand beside each (target, dtype).
PY_PEERS = {
    ("gemm1024", "fp32"): ["numpy_fp32_gemm", "torch_fp32_gemm"],
    ("gemm1024", "bf16"): ["torch_bf16_gemm"],
    ("gemv4096cold", "fp32"): ["torch_fp32_gemv_cold"],
    ("gemv4096cold", "int8"): ["torch_int8_gemv_cold"],
    ("small64", "fp32"): ["torch_fp32_small_m64"],
    ("small64", "int8"): ["torch_int8_small_m64"],
    ("small1", "fp32"): ["torch_fp32_small_m1"],
    ("small1", "int8"): ["torch_int8_small_m1"],
}
SHORT = {"l1": "L1", "l2": "L2", "l3": "L3", "dram": "DRAM", "dram_4k_pages": "DRAM", "cold_set": "cold set"}
ROOFLINE_GROUPS = {
    "gemm1024": "GEMM 1024^3",
    "gemv4096cold": "GEMV 1x4096x4096 cold",
    "small64": "64x50x100",
    "small1": "1x50x100",
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True, help="run_kernels.sh's folder of raw results")
    p.add_argument("--out", required=True)
    p.add_argument("--svg", required=True)
    p.add_argument("--date", required=True)
    p.add_argument("--cpu-model", required=True)
    p.add_argument("--cpu-family", default="?")
    p.add_argument("--cpu-count", required=True)
    p.add_argument("--threads-per-core", default="?")
    p.add_argument("--load", nargs=2, required=True, metavar=("BEFORE", "AFTER"))
    p.add_argument("--busy", nargs=2, default=("?", "?"), metavar=("BEFORE", "AFTER"),
                   help="CPUs used by other processes, sampled over 1 s before and after")
    p.add_argument("--elapsed", required=True, help="seconds the measurements took")
    p.add_argument("--lowp-version", required=True)
    p.add_argument("--git-rev", required=True)
    p.add_argument("--onednn-package", default="none")
    p.add_argument("--openblas-package", default="unknown")
    p.add_argument("--torch-package", default="unknown")
    p.add_argument("--env-coretype", default="")
    p.add_argument("--env-l2-size", default="")
    return p.parse_args()


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def runs(d, tool, target, dtype):
    """The results of one tool on one target and dtype: every run, and the best one."""
    paths = sorted(glob.glob(os.path.join(d, f"{tool}-{target}-{dtype}.json")) +
                   glob.glob(os.path.join(d, f"{tool}-{target}-{dtype}-r*.json")))
    results = [load(p) for p in paths]
    best = max(results, key=lambda r: r["gflops"]) if results else None
    return results, best


def g(v):
    """A throughput figure, 3 significant digits or whole numbers."""
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def pct(v):
    return f"{v * 100:.0f}%" if v >= 0.1 else f"{v * 100:.1f}%"


def ratio(v):
    return f"{v:.1f}x" if v >= 10 else f"{v:.2f}x"


def us(seconds):
    v = seconds * 1e6
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def kernel_ceiling(kernel):
    """The lowp_peak compute key of the instruction a kernel is built on (docs/design.md names)."""
    if kernel.endswith("__avx2"):
        return "fp32_fma_avx2" if not kernel.startswith(("qu8", "qd8")) else None
    if kernel.startswith(("qu8_", "qd8_")):
        return "int8_vnni_avx512"
    if kernel.startswith("bf16_"):
        return "bf16_dot_avx512"
    if kernel.startswith("f32_"):
        return "fp32_fma_avx512"
    return None


def act_bytes(dtype):
    return 1 if dtype == "int8" else 4  # u8 activations for int8, fp32 for the rest


def best_peak(runs):
    """lowp_peak's first run, each compute and bandwidth entry replaced by its best run."""
    best = runs[0]
    for section, rate in (("compute", "gops"), ("bandwidth", "gbytes_per_s")):
        for key, entry in best[section].items():
            candidates = [r[section][key] for r in runs if rate in r[section].get(key, {})]
            if candidates and rate in entry:
                best[section][key] = max(candidates, key=lambda e: e[rate])
    return best


def main():
    a = parse_args()
    d = a.dir
    # The ceilings are the best of lowp_peak's runs (one at the start, one per round of the
    # memory-bound targets): a ceiling is what the hardware can do, and the DRAM share of
    # a host moves during a run as the cold GEMVs do.
    peak = best_peak([load(p) for p in sorted(glob.glob(os.path.join(d, "peak*.json")))])
    peers = load(os.path.join(d, "peers.json"))
    peers_env = load(os.path.join(d, "peers-env.json")) if os.path.exists(os.path.join(d, "peers-env.json")) else None
    py_results = {r["case"]: r for r in peers["results"]}
    compute = {k: v for k, v in peak["compute"].items() if "gops" in v}
    bw = {k: v for k, v in peak["bandwidth"].items() if "gbytes_per_s" in v}
    dram_key = max((k for k in ("dram", "dram_4k_pages") if k in bw), key=lambda k: bw[k]["gbytes_per_s"])
    dram = bw[dram_key]["gbytes_per_s"]
    notes = []
    with open(os.path.join(d, "inspect.txt"), encoding="utf-8") as f:
        inspect_lines = [line.strip() for line in f if line.strip()]
    cpu_line = next((line for line in inspect_lines if line.startswith("cpu:")), "")
    isa_lines = [line for line in inspect_lines if line.startswith("isa ")]
    blas = next((b for b in peers.get("blas", []) if b.get("internal_api") in ("openblas", "mkl", "blis")), {})
    blas_name = (f"{blas.get('internal_api', '?')} {blas.get('version', '?')}, "
                 f"{blas.get('architecture', '?')} kernels, {blas.get('num_threads', '?')} thread(s)") if blas else "?"

    def peer_label(case_result, env_run=False):
        lib = case_result["library"]
        impls = [e for e in case_result.get("onednn", []) if e.startswith("matmul")]
        if lib == "numpy":
            src = peers_env if env_run else peers
            b = next((x for x in src.get("blas", []) if x.get("internal_api") == "openblas"), {})
            where = f"OpenBLAS {b.get('version', '?')}, {b.get('architecture', '?')} kernels"
            if env_run:
                return (f"numpy {src.get('numpy_version')} matmul, {where} "
                        f"(OPENBLAS_CORETYPE={a.env_coretype or 'unset'} as this environment sets it)")
            return f"numpy {peers.get('numpy_version')} matmul, {where}"
        tv = peers.get("torch_version", "?")
        if impls:
            path = "oneDNN " + "; ".join(i.split(" (")[0].removeprefix("matmul ") for i in impls)
        else:
            lib_name = f"OpenBLAS {blas.get('version', '?')}" if blas.get("internal_api") == "openblas" \
                else blas_name.split(",")[0]
            path = f"{lib_name} through libblas.so.3; no oneDNN call"
        if case_result["dtype"] == "int8":
            return (f"PyTorch {tv} dynamic-quantized Linear (qint8 weights, engine "
                    f"{peers.get('torch_quantized_engine')}: {path})")
        op = "matmul" if case_result["m"] == 1024 else "F.linear"
        return f"PyTorch {tv} {op} {case_result['dtype']} ({path})"

    def busy_of(target, run):
        path = os.path.join(d, f"busy-{target}-r{run}.txt")
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or None

    def onednn_label(r):
        extra = {"bf16": ", bf16 activations", "int8": ", runtime src zero point, per-channel scales"}
        return f"oneDNN {r['onednn_version']} matmul ({r['impl']}{extra.get(r['dtype'], '')})"

    out = []
    w = out.append
    w("## Kernels: lowp against the measured roofline and its peers")
    w("")
    w("<!-- generated by bench/run_kernels.sh (bench/write_kernels.py); do not edit by hand -->")
    w("")
    w(f"Generated {a.date} by `bench/run_kernels.sh` (part of `make bench`): the ceilings, lowp "
      "and its peers measured in one run of "
      f"{a.elapsed} s. Every tool times as `lowp bench gemm` does: inputs and weights prepared "
      "first (weights packed once, in each library's own layout), a warm-up, then 5 repeats "
      "of >= 0.3 s and the median time per call; cold cases cycle weight copies totalling 8x "
      "the last-level cache. The peaks are the best of several timings instead: a ceiling is "
      "what the hardware can do.")
    w("")
    w("### Machine")
    w("")
    ghz = peak.get("clock_ghz", 0)
    w(f"- CPU (lscpu): {a.cpu_model}, family {a.cpu_family}, {a.cpu_count} logical CPU(s), "
      f"{a.threads_per_core} thread(s) per core; clock ~{ghz:.2f} GHz while measuring "
      "(lowp_peak's dependent-add chain)")
    if cpu_line:
        w(f"- `lowp inspect --cpu`: {cpu_line.removeprefix('cpu: ')}; " + "; ".join(isa_lines))
    w(f"- other processes on the machine: {a.busy[0]} CPUs busy before the run, {a.busy[1]} after "
      f"(sampled over 1 s each); load average (1, 5, 15 min) {a.load[0]} before, {a.load[1]} after. "
      "A busy CPU shows in the 2-thread figures first")
    w(f"- {a.lowp_version}, source tree at {a.git_rev}")
    w(f"- peers: oneDNN (Debian libdnnl-dev {a.onednn_package}), OpenBLAS (Debian "
      f"libopenblas0-pthread {a.openblas_package}) through numpy {peers.get('numpy_version')}, "
      f"PyTorch {peers.get('torch_version', '?')} (Debian python3-torch {a.torch_package}, "
      f"CPU capability {peers.get('torch_cpu_capability')}), Python {peers.get('python')}")
    w(f"- BLAS that ran (threadpoolctl, after the peers' runs): {blas_name}; torch's BLAS_INFO="
      f"{peers.get('torch_blas_info')}, i.e. libblas.so.3 = `{peers.get('libblas_so_3')}`, the same "
      "OpenBLAS")
    env_note = ", ".join(f"{k}={v}" for k, v in (("OPENBLAS_CORETYPE", a.env_coretype),
                                                  ("OPENBLAS_L2_SIZE", a.env_l2_size)) if v)
    if env_note:
        w(f"- this environment sets {env_note} (for old OpenBLAS builds); the peers' command "
          "unsets both, so OpenBLAS picks its kernels from cpuid as it would on a user's machine")
    w("")

    w("### Commands")
    w("")
    w("```sh")
    w("build/release/bench/lowp_peak")
    for key, (title, m, n, k, flags, threads, dtypes, nruns) in TARGETS.items():
        dt = "{" + ",".join(dtypes) + "}" if len(dtypes) > 1 else dtypes[0]
        times = f"   # {nruns} runs" if nruns > 1 else ""
        w(f"build/release/tools/lowp/lowp bench gemm --m {m} --n {n} --k {k} --dtype {dt} "
          f"--threads {threads}{flags} --json{times}")
        od = [x for x in dtypes if x in ("fp32", "bf16", "int8")]
        if od and glob.glob(os.path.join(d, f"onednn-{key}-*.json")):
            odt = "{" + ",".join(od) + "}" if len(od) > 1 else od[0]
            w(f"OMP_NUM_THREADS={threads} build/release/bench/lowp_onednn_gemm --m {m} --n {n} --k {k} "
              f"--dtype {odt}{flags} --json{times}")
    w("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/gemm_peers.py --threads 1")
    if peers_env:
        w("/usr/bin/python3 bench/gemm_peers.py --threads 1 --case numpy_fp32_gemm   # environment as set")
    w("```")
    w("")
    w("Per target, lowp ran first and its C++ peer right after it; the Python peers ran last, "
      "in one process (plus a `DNNL_VERBOSE=1` probe subprocess that records which oneDNN "
      "primitive each PyTorch case executed).")
    w("")

    # Peaks.
    w("### Measured peaks (the roofline's ceilings), 1 thread")
    w("")
    w("| ceiling | instruction or buffer | measured | per cycle |")
    w("|---|---|---:|---:|")
    for key, e in peak["compute"].items():
        if "gops" not in e:
            w(f"| {e['label']} | `{e['instruction']}` | skipped: {e['skipped']} | |")
            continue
        w(f"| {e['label']} | `{e['instruction']}`, {e['accumulators']} accumulators | "
          f"{g(e['gops'])} {e['unit']} | {e['ops_per_cycle']:.0f} ops ({e['instructions_per_cycle']:.2f} "
          "instructions) |")
    for key, e in peak["bandwidth"].items():
        if "gbytes_per_s" not in e:
            w(f"| {e['label']} | | skipped: {e['skipped']} | |")
            continue
        what = f"read, {peak.get('loads', '?').split(' ')[0]} loads, {e['streams']} stream(s)"
        w(f"| {e['label']} | {what} | {g(e['gbytes_per_s'])} GB/s | {e['bytes_per_cycle']:.1f} B |")
    w("")
    w("Compute: one thread, a block of independent accumulators (enough to cover latency x "
      "throughput) per loop iteration; ops = 2 per multiply-add (vfmadd: 16 lanes; vdpbf16ps: "
      "32 bf16 products; vpdpbusd: 64 u8 x s8 products). Reads: the buffer summed with integer "
      "adds, best of one stream and two streams read side by side (a single core gets more "
      "DRAM misses in flight with two). The cold working set is what the cold GEMVs below "
      "read: a last-level cache that does not evict in strict LRU order keeps serving part of "
      "it, so it reads faster than DRAM proper.")
    w("")

    # Per target.
    roof_points = []
    best_lowp = {}
    for key, (title, m, n, k, flags, threads, dtypes, nruns) in TARGETS.items():
        w(f"### {title}")
        w("")
        gemv = key == "gemv4096cold"
        small1 = key == "small1"
        if gemv:
            w("| dtype | lowp kernel | weight MB | lowp GB/s (GFLOP/s) | % of DRAM | % of cold set "
              "| peer | peer GB/s | lowp / peer |")
            w("|---|---|---:|---:|---:|---:|---|---:|---:|")
        elif key.startswith("small"):
            w("| dtype | lowp kernel | lowp us/call (GFLOP/s) | "
              + ("% of L1 bandwidth (weight GB/s)" if small1 else "% of peak (ceiling)")
              + " | peer | peer us/call | lowp / peer |")
            w("|---|---|---:|---:|---|---:|---:|")
        else:
            w("| dtype | lowp kernel | lowp GFLOP/s | % of peak (ceiling) | peer | peer GFLOP/s | lowp / peer |")
            w("|---|---|---:|---:|---|---:|---:|")
        for dtype in dtypes:
            lruns, lb = runs(d, "lowp", key, dtype)
            if lb is None:
                notes.append(f"{key} {dtype}: no lowp result.")
                continue
            best_lowp[(key, dtype)] = lb
            kernel = lb["kernel"]
            ck = kernel_ceiling(kernel)
            ceiling = compute.get(ck) if ck else None
            # % cell
            if gemv:
                cell = (f"{pct(lb['weight_gbytes_per_s'] / dram)} | "
                        f"{pct(lb['weight_gbytes_per_s'] / bw['cold_set']['gbytes_per_s'])}" if "cold_set" in bw
                        else f"{pct(lb['weight_gbytes_per_s'] / dram)} | ")
            elif small1:
                cell = (f"{pct(lb['weight_gbytes_per_s'] / bw['l1']['gbytes_per_s'])} "
                        f"({g(lb['weight_gbytes_per_s'])} GB/s)") if "l1" in bw else "?"
            elif ceiling:
                peak_v = ceiling["gops"] * threads
                name = ceiling["instruction"] + (f" x {threads} cores" if threads > 1 else "")
                cell = f"{pct(lb['gflops'] / peak_v)} ({name})"
                if dtype == "bf16" and ck != "bf16_dot_avx512" and "bf16_dot_avx512" in compute:
                    cell += f"; {pct(lb['gflops'] / compute['bf16_dot_avx512']['gops'])} of vdpbf16ps"
            else:
                cell = "no measured ceiling"
            if gemv:
                lowp_cells = (f"{dtype} | `{kernel}` | {lb['weight_bytes'] / 1e6:.1f} | "
                              f"{g(lb['weight_gbytes_per_s'])} ({g(lb['gflops'])}) | {cell}")
            elif key.startswith("small"):
                lowp_cells = (f"{dtype} | `{kernel}` | {us(lb['seconds_per_call'])} ({g(lb['gflops'])}) | {cell}")
            else:
                spread = ""
                if len(lruns) > 1:
                    spread = " (runs: " + ", ".join(g(r["gflops"]) for r in lruns) + ")"
                    busy = [busy_of(key, i + 1) for i in range(len(lruns))]
                    note = (f"{title}: other processes kept " + ", ".join(
                        f"{b if b is not None else '?'}" for b in busy) + " CPUs busy just "
                        "before runs 1, 2, 3 (after waiting up to 10 s for them to go idle).")
                    if any(b is not None for b in busy) and note not in notes:
                        notes.append(note)
                lowp_cells = f"{dtype} | `{kernel}` | {g(lb['gflops'])}{spread} | {cell}"

            # peers
            peer_rows = []
            oruns, ob = runs(d, "onednn", key, dtype)
            if ob:
                spread = ""
                if len(oruns) > 1:
                    spread = " (runs: " + ", ".join(g(r["gflops"]) for r in oruns) + ")"
                peer_rows.append((onednn_label(ob), ob, spread))
            for case in PY_PEERS.get((key, dtype), []):
                if case in py_results:
                    peer_rows.append((peer_label(py_results[case]), py_results[case], ""))
                if case == "numpy_fp32_gemm" and peers_env:
                    envr = next((r for r in peers_env["results"] if r["case"] == case), None)
                    if envr:
                        peer_rows.append((peer_label(envr, env_run=True), envr, ""))
            if not peer_rows:
                why = {"fp16": "no peer: oneDNN 2.6 has fp16 matmul only on AVX512-FP16 CPUs, "
                               "PyTorch 1.13 has no fp16 matmul on CPU",
                       "int4": "no peer: neither oneDNN 2.6 nor PyTorch 1.13 has an int4 CPU matmul",
                       "bf16": "no peer run", "int8": "no peer run", "fp32": "no peer run"}[dtype]
                w(f"| {lowp_cells} | {why} | | |")
            for i, (label, r, spread) in enumerate(peer_rows):
                # The lowp cells on the first peer's row, empty cells under them after.
                lead = lowp_cells if i == 0 else " | ".join([""] * (6 if gemv else 4))
                r_ratio = lb["gflops"] / r["gflops"]
                if gemv:
                    fig = f"{g(r['weight_gbytes_per_s'])}"
                elif key.startswith("small"):
                    fig = us(r["seconds_per_call"])
                else:
                    fig = f"{g(r['gflops'])}{spread}"
                w(f"| {lead} | {label} | {fig} | {ratio(r_ratio)} |")
            if key in ROOFLINE_GROUPS:
                nbytes = m * k * act_bytes(dtype) + lb["weight_bytes"] + m * n * 4
                roof_points.append({"label": dtype, "intensity": 2.0 * m * n * k / nbytes,
                                    "gops": lb["gflops"], "group": ROOFLINE_GROUPS[key]})
        w("")
        if key == "gemm1024":
            w("The ceiling is the peak of the instruction the kernel's inner loop runs (its name "
              "says which: `f32_*` vfmadd*ps, `bf16_*` vdpbf16ps, `qu8_*`/`qd8_*` vpdpbusd); int8 "
              "figures are integer GOP/s. "
              "oneDNN's bf16 takes bf16 activations where lowp's bf16 GEMM takes fp32 ones "
              "(oneDNN 2.6 has no fp32 x bf16-weight matmul); PyTorch's bf16 matmul is "
              "bf16 x bf16 -> bf16.")
            w("")
        if key == "gemm1024t2":
            w("The two logical CPUs are separate cores (1 thread per core), so the ceiling is twice "
              "the single-core peak; the best of 3 runs per tool is compared, the others shown. "
              "This VM's second CPU is shared with whatever else runs on the machine, which these "
              "figures feel first: the notes below say what other processes used just before "
              "each run.")
            w("")
        if gemv:
            w("GB/s counts the weight bytes lowp stores for the dtype (int8: + fp32 scales; int4: "
              "packed nibbles + fp32 scales per group of 32), the same count for the peers, so the "
              "GB/s ratio is the time ratio. A cold GEMV reads each weight once, so it can go no "
              "faster than memory: DRAM bandwidth is its ceiling, the cold working set's read "
              "rate the one its protocol actually meets. PyTorch's dynamic int8 Linear also "
              "quantizes its fp32 input each call (lowp's int8 bench takes u8 input); at 4096 "
              "inputs that is small against 16 MB of weights.")
            w("")
        if key == "small64":
            w("Whole calls through each library's API, including its per-call costs: at this size "
              "they are a large share. The PyTorch figures include a Python call (a few "
              "microseconds), as it is used; oneDNN's is C++, like lowp's.")
            w("")
        if small1:
            w("At batch 1 the 50 x 100 weights (3-20 KB) stay in L1 between calls; the share of L1 "
              "read bandwidth shows how far fixed per-call costs keep a kernel from streaming its "
              "weights.")
            w("")

    # Roofline.
    ceilings = [{"label": f"{e['instruction']} {g(e['gops'])}", "gops": e["gops"]} for e in compute.values()]
    bands = [{"label": f"{lbl} {g(bw[k]['gbytes_per_s'])} GB/s", "gbytes_per_s": bw[k]["gbytes_per_s"]}
             for k, lbl in ((dram_key, "DRAM"), ("l3", "L3"), ("l2", "L2")) if k in bw]
    spec = {"title": f"lowp on {a.cpu_model} (family {a.cpu_family}), 1 thread: measured roofline, {a.date}",
            "compute": ceilings, "bandwidth": bands, "points": roof_points}
    with open(a.svg + ".tmp", "w", encoding="utf-8") as f:
        f.write(roofline.render(spec))
    os.replace(a.svg + ".tmp", a.svg)
    rel = os.path.relpath(a.svg, os.path.dirname(os.path.abspath(a.out)) or ".")
    w("### Roofline")
    w("")
    w(f"![roofline: lowp's kernels against this machine's measured ceilings]({rel})")
    w("")
    w("Log-log: arithmetic intensity (operations per byte of A, W and C at their stored types: "
      "the least traffic a call can make) against throughput. Horizontal lines: the compute "
      "peaks above; dashed diagonals: the DRAM, L3 and L2 read bandwidths. A point under a "
      "diagonal's reach is bound by that memory level, one under a horizontal line by compute; "
      "its distance below the lower of the two is the kernel's own loss. GEMM 1024^3 reads its "
      "12 MB (fp32) from L3 and cache, the cold GEMVs from DRAM, the small layers from L1/L2.")
    w("")

    # Far from the roofline: a generated list, from the same figures.
    w("### Furthest from their ceilings")
    w("")
    rows = []
    # The cold GEMVs meet the cold working set's read rate (above DRAM's when the LLC keeps
    # part of it): the higher of the two bounds them.
    cold_key = max((k for k in (dram_key, "cold_set") if k in bw), key=lambda k: bw[k]["gbytes_per_s"])
    for (key, dtype), lb in best_lowp.items():
        if key not in ROOFLINE_GROUPS:
            continue
        m, n, k = TARGETS[key][1:4]
        nbytes = m * k * act_bytes(dtype) + lb["weight_bytes"] + m * n * 4
        intensity = 2.0 * m * n * k / nbytes
        ck = kernel_ceiling(lb["kernel"])
        comp = compute[ck]["gops"] if ck in compute else max(e["gops"] for e in compute.values())
        level = {"gemm1024": "l3", "gemv4096cold": cold_key, "small64": "l2", "small1": "l1"}[key]
        mem = bw[level]["gbytes_per_s"] * intensity if level in bw else float("inf")
        attainable = min(comp, mem)
        bound = "compute" if comp <= mem else f"{SHORT[level]} bandwidth"
        rows.append((lb["gflops"] / attainable, key, dtype, lb, attainable, bound))
    rows.sort(key=lambda r: r[0])
    w("| target | dtype | lowp kernel | lowp | attainable (bound) | share |")
    w("|---|---|---|---:|---:|---:|")
    for share, key, dtype, lb, attainable, bound in rows:
        w(f"| {ROOFLINE_GROUPS[key]} | {dtype} | `{lb['kernel']}` | {g(lb['gflops'])} | "
          f"{g(attainable)} ({bound}) | {pct(share)} |")
    w("")
    w("Attainable = min(peak of the kernel's instruction, intensity x read bandwidth of the "
      "level the data lives in: L3 for GEMM 1024^3, the higher of DRAM and the cold working set "
      "for the cold GEMVs, L2 for 64 x 50 x 100, L1 for 1 x 50 x 100). Sorted from the furthest.")
    if notes:
        w("")
        w("### Notes")
        w("")
        for note in notes:
            w(f"- {note}")
    doc_sections.replace_section(a.out, "kernels", "\n".join(out))


if __name__ == "__main__":
    main()
