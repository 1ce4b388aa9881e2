#!/usr/bin/env python3
"""bench/write_conv.py: the conv section of docs/BENCHMARKS.md.

Reads the raw results of one bench/run_conv.sh run (its --dir) and writes every figure from
them, none typed by hand:
  peak.json                      lowp_peak: the fp32 FMA peaks (the ceiling of the % column)
  inspect-cpu.txt, inspect-kernels.txt   `lowp inspect --cpu` / `--kernels`: the kernels lowp
                                 dispatched (conv2d_implicit, gemm_f32, depthwise_conv2d),
                                 hence the ceiling
  lowp-M-tT[-rR].json            `lowp bench conv --model M --threads T --json` (JSON lines)
  onednn-M-tT[-rR].json          lowp_onednn_conv --layers ... --json (JSON lines; optional)
  torch-M-tT[-rR].json           bench/conv_peers.py (a run line, then one line per layer and
                                 memory format)
  busy-M-tT-rR.txt               CPUs other processes used just before a 2-thread run
  commands.txt                   the commands as run (<tmp> for the folder), one per line
Per model and thread count, one table: each listed layer's lowp time, GFLOP/s and share of
the measured fp32 FMA peak (x threads), each peer's time and lowp's speed against it
(peer time / lowp time: above 1, lowp is faster), and the totals over the listed layers.
With several runs (the 2-thread ones), each tool's best run per layer is compared.
Standard library only; the section is replaced through bench/doc_sections.py.
"""

import argparse
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_sections  # noqa: E402

MODELS = {"resnet18": "ResNet-18", "mobilenetv2": "MobileNetV2"}
# peer key: (column title, tool, memory format)
PEERS = [("onednn", "oneDNN (NHWC)", "oneDNN", None),
         ("torch_cl", "PyTorch channels_last", "pytorch", "channels_last"),
         ("torch_nchw", "PyTorch NCHW", "pytorch", "nchw")]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True, help="run_conv.sh's folder of raw results")
    p.add_argument("--out", required=True)
    p.add_argument("--date", required=True)
    p.add_argument("--cpu-model", required=True)
    p.add_argument("--cpu-count", required=True)
    p.add_argument("--threads-per-core", default="?")
    p.add_argument("--load", nargs=2, required=True, metavar=("BEFORE", "AFTER"))
    p.add_argument("--busy", nargs=2, default=("?", "?"), metavar=("BEFORE", "AFTER"))
    p.add_argument("--elapsed", required=True, help="seconds the measurements took")
    p.add_argument("--lowp-version", required=True)
    p.add_argument("--git-rev", required=True)
    p.add_argument("--onednn-package", default="none")
    p.add_argument("--torch-package", default="unknown")
    p.add_argument("--env-coretype", default="")
    p.add_argument("--env-l2-size", default="")
    p.add_argument("--trial", default="", help="what differs from a full run (set when the run "
                   "was cut down to try the scripts); printed at the top of the section")
    return p.parse_args()


def json_lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def g(v):
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def ms(v):
    return f"{v:.3f}" if v < 10 else f"{v:.2f}" if v < 100 else f"{v:.1f}"


def pct(v):
    return f"{v * 100:.0f}%" if v >= 0.1 else f"{v * 100:.1f}%"


def ratio(v):
    return f"{v:.1f}x" if v >= 10 else f"{v:.2f}x"


def out_hw(r):
    h, w, _ = r["in"]
    k, s = r["kernel"], r["stride"]
    return (h + 2 * (k // 2) - k) // s + 1, (w + 2 * (k // 2) - k) // s + 1


def flops(r):
    oh, ow = out_hw(r)
    return 2.0 * oh * ow * r["out_c"] * r["kernel"] ** 2 * (r["in"][2] // r["groups"])


def shape(r):
    h, w, c = r["in"]
    oh, ow = out_hw(r)
    k, s, gr = r["kernel"], r["stride"], r["groups"]
    conv = f"{k}x{k}" + (f"/{s}" if s > 1 else "") + (" dw" if gr == c == r["out_c"] > 1 else
                                                      f" g{gr}" if gr > 1 else "")
    return f"{h}x{w}x{c} {conv} -> {oh}x{ow}x{r['out_c']}"


def selected_kernels(text):
    """`lowp inspect --kernels`: family -> the kernel marked '*' (the one dispatch took)."""
    chosen, family = {}, None
    for line in text.splitlines():
        if re.match(r"^[A-Za-z0-9_]+:\s*$", line):
            family = line.strip().rstrip(":")
        m = re.match(r"^\s*\*\s+(\S+)", line)
        if m and family:
            chosen[family] = m.group(1)
    return chosen


def ceiling_key(kernel):
    if not kernel:
        return None
    if kernel.endswith("__avx2"):
        return "fp32_fma_avx2"
    if re.search(r"__avx512", kernel):
        return "fp32_fma_avx512"
    return None  # scalar: no vector peak to compare with


QUIET = 0.25  # CPUs other processes may use for a run to count as undisturbed (run_conv.sh)


def busy_value(text):
    try:
        return float(text)
    except ValueError:
        return 0.0


class Runs:
    """One tool's results on one model at one thread count: every run, per layer."""

    def __init__(self, d, tool, model, threads):
        base = os.path.join(d, f"{tool}-{model}-t{threads}")
        paths = ([base + ".json"] if os.path.exists(base + ".json") else []) + \
            sorted(glob.glob(base + "-r*.json"), key=lambda p: int(re.search(r"-r(\d+)\.json$", p).group(1)))
        self.runs = []  # [{(layer, format): result}]
        self.meta = []
        for p in paths:
            rows = json_lines(p)
            self.meta.append(next((r for r in rows if "layer" not in r), None))
            self.runs.append({(r["layer"], r.get("format")): r for r in rows if "layer" in r})

    def best(self, layer, fmt=None):
        found = [run[(layer, fmt)] for run in self.runs if (layer, fmt) in run]
        return min(found, key=lambda r: r["ms"]) if found else None

    def all(self, layer, fmt=None):
        return [run[(layer, fmt)] for run in self.runs if (layer, fmt) in run]

    def first_with(self, layer, fmt, key):
        """The first run's record of `key` (the probe runs in the first run only)."""
        for run in self.runs:
            r = run.get((layer, fmt))
            if r and r.get(key) is not None:
                return r[key]
        return None


def torch_path(aten, onednn, blas):
    """What PyTorch ran for one layer, from the probe's ATen ops and oneDNN primitives."""
    if aten is None:
        return "not probed"
    if any("mkldnn_convolution" in op for op in aten):
        convs = [e for e in (onednn or []) if e.startswith("convolution ")]
        impl = ", ".join(c.split(" ")[1] for c in convs) or "?"
        reorders = sum(1 for e in (onednn or []) if e.startswith("reorder "))
        extra = f" + {reorders} reorder{'s' if reorders != 1 else ''} per call" if reorders else ""
        return f"oneDNN `{impl}`{extra}"
    if any("slow_conv2d" in op or "thnn_conv2d" in op for op in aten):
        return f"`thnn_conv2d` (PyTorch's im2col + {blas} GEMM)"
    named = ", ".join(op.removeprefix("aten::") for op in aten)
    return f"`{named}`" if named else "?"


def lowp_kernel(r, chosen):
    # As conv2d_f32 chooses (src/kernels/conv/conv2d.cc); the listed layers have dilation 1.
    c = r["in"][2]
    if r["groups"] == c == r["out_c"] and r["groups"] > 1:
        return chosen.get("depthwise_conv2d"), "depthwise"
    out_h, out_w = out_hw(r)
    if r["groups"] == 1 and out_h * out_w >= 8:
        return chosen.get("conv2d_implicit"), "implicit GEMM, rows read in place"
    return chosen.get("gemm_f32"), "im2col blocks + GEMM"


def main():
    a = parse_args()
    d = a.dir
    peak = json.loads(read_text(os.path.join(d, "peak.json")) or "{}")
    compute = {k: v for k, v in peak.get("compute", {}).items() if "gops" in v}
    chosen = selected_kernels(read_text(os.path.join(d, "inspect-kernels.txt")))
    inspect_lines = [line.strip() for line in read_text(os.path.join(d, "inspect-cpu.txt")).splitlines()
                     if line.strip()]
    cpu_line = next((line for line in inspect_lines if line.startswith("cpu:")), "")
    isa_lines = [line for line in inspect_lines if line.startswith("isa ")]
    commands = []
    for line in read_text(os.path.join(d, "commands.txt")).splitlines():
        if line and line not in commands:
            commands.append(line)
    counts = {c: read_text(os.path.join(d, "commands.txt")).splitlines().count(c) for c in commands}

    models = [m for m in MODELS if glob.glob(os.path.join(d, f"lowp-{m}-t*.json"))]
    thread_counts = sorted({int(re.search(r"-t(\d+)", os.path.basename(p)).group(1))
                            for p in glob.glob(os.path.join(d, "lowp-*-t*.json"))})
    if not models:
        sys.exit(f"write_conv: no lowp-<model>-t<threads>.json in {d}")

    torch_meta = None
    for m in models:
        for t in thread_counts:
            rs = Runs(d, "torch", m, t)
            torch_meta = torch_meta or next((x for x in rs.meta if x), None)
    torch_meta = torch_meta or {}
    blas = next((b for b in (torch_meta.get("blas") or []) if b.get("internal_api") in ("openblas", "mkl", "blis")),
                None)
    blas_name = (f"OpenBLAS {blas.get('version')} ({blas.get('architecture')} kernels)"
                 if blas and blas.get("internal_api") == "openblas" else
                 blas.get("internal_api") if blas else "the BLAS")

    out = []
    w = out.append
    notes = []
    w("## Convolution: lowp against oneDNN and PyTorch on ResNet-18 and MobileNetV2 layers")
    w("")
    w("<!-- generated by bench/run_conv.sh (bench/write_conv.py); do not edit by hand -->")
    w("")
    if a.trial:
        w(f"**Trial run, not a measurement to quote: {a.trial}.**")
        w("")
    w(f"Generated {a.date} by `bench/run_conv.sh` (part of `make bench`): lowp and its peers on "
      f"the same layers, in one run of {a.elapsed} s. The layers are the ones `lowp bench conv` "
      "lists (`conv_bench_cases`, tools/lowp/conv_bench.cc); the peers read them from lowp's own "
      "JSON output, so the lists cannot differ. Every layer: fp32, batch 1, padding kernel / 2, "
      "dilation 1, bias, ReLU; weights prepared once before timing (lowp packs them, oneDNN "
      "reorders them into the layout it picks; PyTorch eager has no such step: it takes the "
      "weights as they are on every call). Every tool times as `lowp bench conv` does: one "
      "warm-up call, then 5 repeats of >= 0.2 s and the median time per call. GFLOP/s = 2 x "
      "output elements x (kernel^2 x input channels / groups) / time, for every tool. "
      "lowp / peer = the peer's time / lowp's: above 1, lowp is faster.")
    w("")
    w("### Machine")
    w("")
    ghz = peak.get("clock_ghz")
    w(f"- CPU (lscpu): {a.cpu_model}, {a.cpu_count} logical CPU(s), {a.threads_per_core} thread(s) "
      "per core" + (f"; clock ~{ghz:.2f} GHz while lowp_peak ran" if ghz else ""))
    if cpu_line:
        w(f"- `lowp inspect --cpu`: {cpu_line.removeprefix('cpu: ')}; " + "; ".join(isa_lines))
    w(f"- other processes on the machine: {a.busy[0]} CPUs busy before the run, {a.busy[1]} after "
      f"(sampled over 1 s each); load average (1, 5, 15 min) {a.load[0]} before, {a.load[1]} after")
    w(f"- {a.lowp_version}, source tree at {a.git_rev}; kernels dispatched: "
      + ", ".join(f"{fam} `{k}`" for fam, k in chosen.items()
                  if fam in ("conv2d_implicit", "gemm_f32", "depthwise_conv2d")))
    onednn_version = None
    for m in models:
        for t in thread_counts:
            for run in Runs(d, "onednn", m, t).runs:
                for r in run.values():
                    onednn_version = onednn_version or r.get("onednn_version")
    peers_line = []
    if onednn_version:
        peers_line.append(f"oneDNN {onednn_version} (Debian libdnnl-dev {a.onednn_package}) through "
                          "lowp_onednn_conv (C++)")
    if torch_meta:
        peers_line.append(
            f"PyTorch {torch_meta.get('torch_version')} (Debian python3-torch {a.torch_package}, "
            f"CPU capability {torch_meta.get('torch_cpu_capability')}, built with oneDNN "
            f"{torch_meta.get('torch_mkldnn_version')}: torch.backends.mkldnn.is_available() = "
            f"{torch_meta.get('torch_mkldnn_available')}; BLAS {blas_name}), Python "
            f"{torch_meta.get('python')}")
    w("- peers: " + ("; ".join(peers_line) if peers_line else "none ran"))
    env_note = ", ".join(f"{k}={v}" for k, v in (("OPENBLAS_CORETYPE", a.env_coretype),
                                                  ("OPENBLAS_L2_SIZE", a.env_l2_size)) if v)
    if env_note:
        w(f"- this environment sets {env_note}; the PyTorch command unsets both, so OpenBLAS "
          "picks its kernels from cpuid as it would on a user's machine")
    w("")

    w("### Commands")
    w("")
    w("```sh")
    for c in commands:
        w(c + (f"   # {counts[c]} runs" if counts[c] > 1 else ""))
    w("```")
    w("")
    w("`<tmp>` is a `mktemp -d` folder, M the model. Per model and thread count, lowp ran first, "
      "then oneDNN, then PyTorch on the layers lowp listed; the 2-thread rounds came after every "
      "1-thread one, each after waiting (up to 10 s) for other processes to leave the CPUs idle. "
      "PyTorch's script also runs a probe subprocess (one call per layer and format, under "
      "torch.profiler and `DNNL_VERBOSE=1`) that records which ATen operator and which oneDNN "
      "primitives each call ran.")
    w("")

    w("### Ceiling")
    w("")
    if compute:
        parts = [f"{e['label']} (`{e['instruction']}`) {g(e['gops'])} GFLOP/s"
                 for k, e in compute.items() if k.startswith("fp32_fma")]
        w("Measured by `lowp_peak` in this run, one core: " + "; ".join(parts) + ". The % of peak "
          "column divides lowp's GFLOP/s by the peak of the FMA its kernel runs (the kernel "
          "name's ISA suffix) times the thread count (" + str(a.threads_per_core) +
          " thread(s) per core: each thread its own core). Depthwise layers do 9 multiply-adds "
          "per loaded input and are bound by memory, not by the FMA peak.")
    else:
        w("No lowp_peak result in this run: the % of peak column is empty.")
    w("")

    impl_rows = {}
    for m in models:
        for t in thread_counts:
            lowp = Runs(d, "lowp", m, t)
            if not lowp.runs:
                continue
            nruns = len(lowp.runs)
            peers = {key: Runs(d, tool.lower() if tool == "oneDNN" else "torch", m, t)
                     for key, _, tool, _ in PEERS}
            layers = list(lowp.runs[0].keys())  # lowp's order
            title = f"{MODELS[m]}, {t} thread{'s' if t > 1 else ''}"
            if nruns > 1:
                title += f" (best of {nruns} runs per tool and layer)"
            w(f"### {title}")
            w("")
            head = "| layer | shape (in -> out) | lowp ms | lowp GFLOP/s | % of peak |"
            rule = "|---|---|---:|---:|---:|"
            active = [(key, col, tool, fmt) for key, col, tool, fmt in PEERS if peers[key].runs]
            for key, col, tool, fmt in active:
                head += f" {col} ms | lowp / {col} |"
                rule += "---:|---:|"
            w(head)
            w(rule)
            total = {"lowp": 0.0, **{key: 0.0 for key, *_ in active}}
            complete = {key: True for key, *_ in active}
            total_flops = 0.0
            for layer, _ in layers:
                lb = lowp.best(layer)
                if abs(flops(lb) / (lb["ms"] * 1e-3) * 1e-9 / lb["gflops"] - 1) > 0.01:
                    notes.append(f"{title}, {layer}: lowp's GFLOP/s does not match this script's "
                                 "count (padding kernel / 2, dilation 1): the peers may time "
                                 "another shape than lowp's.")
                kernel, how = lowp_kernel(lb, chosen)
                ck = ceiling_key(kernel)
                cell = pct(lb["gflops"] / (compute[ck]["gops"] * t)) if ck in compute else ""
                row = f"| {layer} | {shape(lb)} | {ms(lb['ms'])} | {g(lb['gflops'])} | {cell} |"
                total["lowp"] += lb["ms"]
                total_flops += flops(lb)
                for key, col, tool, fmt in active:
                    pb = peers[key].best(layer, fmt)
                    if pb is None:
                        row += " | |"
                        complete[key] = False
                        continue
                    total[key] += pb["ms"]
                    row += f" {ms(pb['ms'])} | {ratio(pb['ms'] / lb['ms'])} |"
                w(row)
                # What ran: first thread count's labels, the others noted where they differ.
                entry = impl_rows.setdefault((m, layer), {"lowp": f"`{kernel}` ({how})" if kernel else how})
                od = peers["onednn"].first_with(layer, None, "impl") if "onednn" in peers else None
                entry.setdefault("onednn", {})[t] = f"`{od}`" if od else ""
                for key, fmt in (("torch_cl", "channels_last"), ("torch_nchw", "nchw")):
                    entry.setdefault(key, {})[t] = (
                        torch_path(peers[key].first_with(layer, fmt, "aten"),
                                   peers[key].first_with(layer, fmt, "onednn"), blas_name)
                        if peers[key].runs else "")
            n = len(layers)
            ck_any = ceiling_key(chosen.get("gemm_f32"))
            tot_gflops = total_flops / (total["lowp"] * 1e-3) * 1e-9
            cell = pct(tot_gflops / (compute[ck_any]["gops"] * t)) if ck_any in compute else ""
            row = (f"| **total, {n} layer{'s' if n > 1 else ''}** | | **{ms(total['lowp'])}** | {g(tot_gflops)} | {cell} |")
            for key, *_ in active:
                if complete[key]:
                    row += f" **{ms(total[key])}** | **{ratio(total[key] / total['lowp'])}** |"
                else:
                    row += " (incomplete) | |"
            w(row)
            w("")
            if nruns > 1:
                per_run = []
                for tool_key, runs in [("lowp", lowp)] + [(col, peers[key]) for key, col, *_ in active]:
                    fmt = next((f for k, c, _, f in PEERS if c == tool_key), None)
                    sums = []
                    for run in runs.runs:
                        vals = [run.get((layer, fmt)) for layer, _ in layers]
                        sums.append(ms(sum(v["ms"] for v in vals)) if all(vals) else "?")
                    per_run.append(f"{tool_key} " + ", ".join(sums))
                busy = [read_text(os.path.join(d, f"busy-{m}-t{t}-r{i + 1}.txt")).strip() or "?"
                        for i in range(nruns)]
                w(f"Each tool's best run per layer; the totals add those bests. Totals of each run "
                  f"(ms): {'; '.join(per_run)}. Other processes kept {', '.join(busy)} CPUs busy just "
                  f"before runs {', '.join(str(i + 1) for i in range(nruns))}.")
                w("")
                if all(busy_value(b) >= QUIET for b in busy):
                    notes.append(f"{title}: other processes kept the CPUs busy before every run "
                                 f"({', '.join(busy)} CPUs after waiting for them): these figures "
                                 "measure the contention as much as the code, PyTorch's most.")
            for key, col, *_ in PEERS:
                if not peers[key].runs:
                    notes.append(f"{title}: no {col} result in this run.")

    if any(busy_value(b) >= QUIET for b in a.busy):
        notes.insert(0, f"Other processes used {a.busy[0]} CPUs before the run and {a.busy[1]} after "
                     "(sampled over 1 s): the figures share the CPUs with them.")

    w("### What ran")
    w("")
    w("| model | layer | lowp | oneDNN | PyTorch channels_last | PyTorch NCHW |")
    w("|---|---|---|---|---|---|")

    def by_threads(v):
        labels = list(dict.fromkeys(v.values()))
        if len(labels) <= 1:
            return labels[0] if labels else ""
        return "; ".join(f"{t} thread{'s' if t > 1 else ''}: {lab}" for t, lab in v.items())

    for (m, layer), e in impl_rows.items():
        w(f"| {MODELS[m]} | {layer} | {e['lowp']} | {by_threads(e.get('onednn', {}))} | "
          f"{by_threads(e.get('torch_cl', {}))} | {by_threads(e.get('torch_nchw', {}))} |")
    w("")
    w("lowp: its own depthwise kernel for depthwise layers; otherwise an implicit GEMM: tiles of "
      "output pixels read their receptive fields in place from the (zero-padded) NHWC input, one "
      "contiguous run of KW x C elements per kernel row, times the packed weights (the GEMM on "
      "gathered rows only below 8 output pixels). oneDNN: `impl_info_str()` of the primitive "
      "it chose for NHWC (`acdb`) source and destination, `convolution_auto`, a ReLU post-op. "
      "PyTorch eager, from its probe: `aten::mkldnn_convolution` runs oneDNN (names as "
      "`DNNL_VERBOSE` prints them; the reorders put weights (every call: eager PyTorch does not "
      "cache them) and, for NCHW, the input into oneDNN's blocked layout and the output back); "
      "`thnn_conv2d` is PyTorch's own path, im2col (none for 1x1 stride 1) and a BLAS SGEMM, which "
      "PyTorch 1.13 picks for 1x1 convolutions without stride at batch 1 on one thread. PyTorch's "
      "ReLU is a separate in-place pass over the output; oneDNN's and lowp's are fused.")
    if notes:
        w("")
        w("### Notes")
        w("")
        for note in notes:
            w(f"- {note}")
    doc_sections.replace_section(a.out, "conv", "\n".join(out))


if __name__ == "__main__":
    main()
