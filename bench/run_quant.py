#!/usr/bin/env python3
"""bench/run_quant.py: the quantized models against their fp32 originals and ONNX Runtime.

Rounds interleave every (runner, model) pair, so machine load hits all of them alike; each
entry is the median over rounds of each run's median latency (lowp: `lowp bench --json`,
ORT: bench/ort_bench.py --json, both CPUExecutionProvider / all optimizations, the given
threads, batch 1).

  minilm   fp32 MiniLM-shaped encoder (scripts/export_models.py, opset 17, sequence 128);
           lowp's int8-dynamic model (`lowp quantize --precision int8-dynamic`) and ONNX
           Runtime's (onnxruntime.quantization.quantize_dynamic, defaults), each run by both.
  mlp      scripts/make_mlp.py's MLP (--mlp-dir: mlp.onnx and its int4 exports, any
           mlp.*.onnx there), batch 1.

Usage: .venv/bin/python bench/run_quant.py --lowp build/release/tools/lowp/lowp
           --models build/release/models --mlp-dir DIR [--rounds 3] [--threads 1] [--work DIR]
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def lowp_ms(lowp, model, threads):
    out = subprocess.run([lowp, "bench", model, "--threads", str(threads), "--batch", "1", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["latency_us_median"] / 1000.0


def ort_ms(model, threads):
    out = subprocess.run([sys.executable, os.path.join(HERE, "ort_bench.py"), model, "--threads", str(threads),
                          "--batch", "1", "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["latency_us_median"] / 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lowp", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--mlp-dir")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default="/tmp/lowp_quant_bench")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    fp32 = os.path.join(a.models, "minilm_opset17.onnx")
    mine = os.path.join(a.work, "minilm.int8dyn.onnx")
    theirs = os.path.join(a.work, "minilm.ort_dynamic.onnx")
    subprocess.run([a.lowp, "quantize", fp32, "-o", mine, "--precision", "int8-dynamic"], check=True,
                   capture_output=True)
    from onnxruntime.quantization import quantize_dynamic
    quantize_dynamic(fp32, theirs)
    models = [("minilm fp32", fp32), ("minilm int8-dynamic (lowp quantize)", mine),
              ("minilm int8-dynamic (ORT quantize_dynamic)", theirs)]
    if a.mlp_dir:
        models.append(("mlp fp32", os.path.join(a.mlp_dir, "mlp.onnx")))
        for p in sorted(glob.glob(os.path.join(a.mlp_dir, "mlp.*.onnx"))):
            models.append((f"mlp {os.path.basename(p)[4:-5]}", p))
    times = {(name, who): [] for name, _ in models for who in ("lowp", "ort")}
    for r in range(a.rounds):
        for name, path in models:
            times[(name, "lowp")].append(lowp_ms(a.lowp, path, a.threads))
            times[(name, "ort")].append(ort_ms(path, a.threads))
            print(f"round {r + 1}: {name}: lowp {times[(name, 'lowp')][-1]:.3f} ms, ORT {times[(name, 'ort')][-1]:.3f} ms",
                  file=sys.stderr)
    print(f"| model | threads | lowp ms | ORT ms | lowp / ORT |")
    print("|---|---|---|---|---|")
    for name, _ in models:
        lo = statistics.median(times[(name, "lowp")])
        orv = statistics.median(times[(name, "ort")])
        print(f"| {name} | {a.threads} | {lo:.3f} | {orv:.3f} | {lo / orv:.2f} |")


if __name__ == "__main__":
    main()
