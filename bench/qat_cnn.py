#!/usr/bin/env python3
"""bench/qat_cnn.py: quantization-aware training against post-training quantization on the
Fashion-MNIST CNN: the "qat_cnn" section of docs/BENCHMARKS.md (issue 6's QAT targets).

All with lowp (1 thread unless --threads), on the real data set (60,000 training images,
accuracy on the 10,000 test images, evaluated by `lowp run` on each exported model):
  1. fp32: `lowp train --model cnn` for EPOCHS epochs (Adam, lr 1e-3);
  2. PTQ int8: `lowp quantize --precision int8` of it, calibrated on 512 training images
     (percentile, the default, and minmax);
  3. QAT int8: `lowp train --model fp32.onnx --qat int8` for 1 epoch at lr 1e-4 from those
     weights, which writes the QDQ int8 model (and, --fp32-out, its fp32 weights);
  4. the control for the extra epoch: the same fine-tuning epoch without --qat, then PTQ;
  3 and 4 once per seed of --seeds (the order of the data), to show their noise.
Then the promise of --qat: the exported int8 model in lowp's runtime against the QAT model's
own logits (lowp train --predictions), element by element, and ONNX Runtime's top-1 on it.
About 4 minutes with the defaults (2 fp32 epochs, 3 seeds) at 1 thread on this 2-core VM.

Usage: .venv/bin/python bench/qat_cnn.py [--dir build/qat_cnn] [--epochs 2] [--threads 1] [--seeds 42,43,44] [--no-write]
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import doc_sections  # noqa: E402
from bench_util import cpu_model_name, run_json  # noqa: E402

LOWP = "build/release/tools/lowp/lowp"
DATA = os.environ.get("LOWP_FASHION_MNIST_DIR") or "/usr/share/datasets/fashion-mnist"


def images(name, n=None):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 1, 28, 28)[:n]
    # As lowp train normalizes them.
    return ((x.astype(np.float32) / np.float32(255) - np.float32(0.2860)) / np.float32(0.3530)).astype(np.float32)


def labels(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        return np.frombuffer(f.read()[8:], dtype=np.uint8).astype(np.int64)


def lowp_logits(model, d):
    out = os.path.join(d, "run_out")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([LOWP, "run", model, "--input", os.path.join(d, "test_x.npy"), "--output-dir", out],
                   check=True, stdout=subprocess.DEVNULL)
    (name,) = os.listdir(out)
    return np.load(os.path.join(out, name))


def train(args, who):
    return run_json([LOWP, "train", *args, "--json", "--progress-every", "100000"], who)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="build/qat_cnn")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", default="42,43,44", help="seeds of the fine-tuning runs (the data order)")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    d = a.dir
    seeds = [int(v) for v in a.seeds.split(",")]
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "test_x.npy"), images("t10k-images-idx3-ubyte.gz"))
    np.save(os.path.join(d, "calib_x.npy"), images("train-images-idx3-ubyte.gz", 512))
    y = labels("t10k-labels-idx1-ubyte.gz")
    th = ["--threads", str(a.threads)]
    p = lambda name: os.path.join(d, name)  # noqa: E731

    cmds = {}
    cmds["fp32"] = ["--model", "cnn", "--epochs", str(a.epochs), "--lr", "1e-3", "--out", p("fp32.onnx"), *th]
    print("qat_cnn: fp32 training", file=sys.stderr)
    fp32_report = train(cmds["fp32"], "qat_cnn")
    quantize = {}

    def ptq(src, method):
        out = p(f"{src}_ptq_{method}.onnx")
        quantize[(src, method)] = [LOWP, "quantize", p(f"{src}.onnx"), "-o", out, "--precision", "int8",
                                   "--calib", p("calib_x.npy"), "--method", method]
        subprocess.run(quantize[(src, method)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return out

    # Rows: name -> one model per fine-tuning seed (the fp32 model and its PTQ are shared).
    rows = {"fp32": [p("fp32.onnx")] * len(seeds),
            "PTQ int8 (percentile 99.99, the default)": [ptq("fp32", "percentile")] * len(seeds),
            "PTQ int8 (minmax)": [ptq("fp32", "minmax")] * len(seeds)}
    names = ["QAT int8", "control: fp32 + the same epoch without QAT", "control, then PTQ int8 (percentile)",
             "QAT's fp32 weights (BatchNorm folded), unquantized"]
    for n in names:
        rows[n] = []
    reports = {}
    for s in seeds:
        cmds[("qat", s)] = ["--model", p("fp32.onnx"), "--qat", "int8", "--epochs", "1", "--lr", "1e-4", "--seed", str(s),
                            "--out", p(f"qat{s}.onnx"), "--fp32-out", p(f"qat{s}_fp32.onnx"),
                            "--predictions", p(f"qat{s}_logits.npy"), *th]
        print(f"qat_cnn: QAT, seed {s}", file=sys.stderr)
        reports[("qat", s)] = train(cmds[("qat", s)], "qat_cnn")
        cmds[("ft", s)] = ["--model", p("fp32.onnx"), "--epochs", "1", "--lr", "1e-4", "--seed", str(s),
                           "--out", p(f"ft{s}.onnx"), *th]
        print(f"qat_cnn: fp32 fine-tuning (the control), seed {s}", file=sys.stderr)
        reports[("ft", s)] = train(cmds[("ft", s)], "qat_cnn")
        for n, m in zip(names, (p(f"qat{s}.onnx"), p(f"ft{s}.onnx"), ptq(f"ft{s}", "percentile"), p(f"qat{s}_fp32.onnx"))):
            rows[n].append(m)
    acc = {n: [float((lowp_logits(m, d).argmax(1) == y).mean()) for m in ms] for n, ms in rows.items()}
    mean = {n: float(np.mean(v)) for n, v in acc.items()}

    # The promise: lowp's runtime on the export = the QAT model, bit for bit (every seed).
    identical = total = ort_top1 = 0
    max_diff = ort_diff = 0.0
    import onnxruntime as ort
    x = np.load(p("test_x.npy"))
    for s in seeds:
        own = np.load(p(f"qat{s}_logits.npy"))
        runtime = lowp_logits(p(f"qat{s}.onnx"), d)
        identical += int((own.view(np.uint32) == runtime.view(np.uint32)).sum())
        total += runtime.size
        max_diff = max(max_diff, float(np.max(np.abs(own - runtime))))
        sess = ort.InferenceSession(p(f"qat{s}.onnx"), providers=["CPUExecutionProvider"])
        o = np.concatenate([sess.run(None, {sess.get_inputs()[0].name: x[i:i + 1000]})[0] for i in range(0, len(x), 1000)])
        ort_top1 += int((o.argmax(1) == runtime.argmax(1)).sum())
        ort_diff = max(ort_diff, float(np.max(np.abs(o - runtime))))
    qat_report, ft_report = reports[("qat", seeds[0])], reports[("ft", seeds[0])]

    lines = [
        "## Quantization-aware training: the Fashion-MNIST CNN, QAT against PTQ",
        "",
        "<!-- generated by bench/qat_cnn.py; do not edit by hand -->",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu_model_name()}, {a.threads} thread(s). "
        "The CNN of `lowp train --model cnn` (Conv 1->32 + BN + ReLU, MaxPool, Conv 32->64 + BN + ReLU, MaxPool, "
        "Linear 3136->128 + ReLU, Linear 128->10), trained by lowp on the 60,000 Fashion-MNIST training images "
        f"({a.epochs} epochs, Adam lr 1e-3, batch 64, seed 42); accuracy of each exported model run by `lowp run` "
        "on the 10,000 test images. PTQ: `lowp quantize --precision int8`, 512 training images for calibration. "
        "QAT: one epoch of `lowp train --qat int8` from the fp32 weights (Adam lr 1e-4, BatchNorm folded, "
        "ranges a moving average with momentum 0.01). The control gives the fp32 model the same extra epoch "
        "without quantization, then PTQ, so that QAT is not credited with the extra training. The fine-tuning "
        "runs are repeated with several seeds (the order of the data) to show the noise. In every int8 model "
        "the 1-channel stem convolution stays fp32 (GEMM depth 9 < 16) and the other three layers are int8.",
        "",
        "| model | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | mean vs fp32 |",
        "|---|" + "---|" * (len(seeds) + 2),
    ]
    for n, v in acc.items():
        lines.append(f"| {n} | " + " | ".join(f"{x:.4f}" for x in v) + f" | {mean[n]:.4f} | {mean[n] - mean['fp32']:+.4f} |")
    best_ptq = max(mean["PTQ int8 (percentile 99.99, the default)"], mean["PTQ int8 (minmax)"])
    diffs = [q - c for q, c in zip(acc["QAT int8"], acc["control, then PTQ int8 (percentile)"])]
    lines += [
        "",
        f"QAT int8 - the better PTQ int8 of the same fp32 model: {mean['QAT int8'] - best_ptq:+.4f} (mean). "
        "QAT int8 - PTQ int8 of the control, per seed: " + ", ".join(f"{v:+.4f}" for v in diffs) +
        f" (mean {float(np.mean(diffs)):+.4f}).",
        "",
        f"Agreement (the promise of --qat), over the {len(seeds)} QAT runs: the exported QDQ model run by lowp's "
        f"runtime gives the QAT model's own inference logits (`lowp train --predictions`) on {identical} of {total} "
        f"logits bit for bit (max |difference| {max_diff:.3g}); `lowp train` reports "
        f"{qat_report['runtime_agreement']} of {qat_report['test_rows']} top-1 agreements (seed {seeds[0]}). "
        f"ONNX Runtime on the same files: lowp's top-1 on {ort_top1} of {len(seeds) * len(y)} images, max |logit "
        f"difference| to lowp {ort_diff:.3g} (ORT's own int8 arithmetic, not bound to lowp's rounding).",
        "",
        f"Time of the fine-tuning epoch (training steps only, seed {seeds[0]}): QAT "
        f"{qat_report['epochs'][0]['seconds']:.1f} s, fp32 {ft_report['epochs'][0]['seconds']:.1f} s (fp32 "
        f"training from scratch: {fp32_report['epochs'][0]['seconds']:.1f} s per epoch).",
        "",
        "Commands:",
        "",
        "```",
        f".venv/bin/python bench/qat_cnn.py --dir {d} --epochs {a.epochs} --threads {a.threads} --seeds {a.seeds}",
        " ".join([LOWP, "train", *cmds["fp32"]]),
        " ".join(quantize[("fp32", "percentile")]),
        " ".join([LOWP, "train", *cmds[("qat", seeds[0])]]),
        " ".join([LOWP, "train", *cmds[("ft", seeds[0])]]),
        f"{LOWP} run {p(f'qat{seeds[0]}.onnx')} --input {p('test_x.npy')} --output-dir {p('run_out')}",
        "```",
    ]
    body = "\n".join(lines)
    with open(p("qat_cnn.json"), "w") as f:
        json.dump({"seeds": seeds, "accuracy": acc, "identical_logits": identical, "logits": total,
                   "ort_top1": ort_top1, "ort_max_diff": ort_diff, "reports": {f"{k[0]}{k[1]}": v for k, v in reports.items()},
                   "fp32": fp32_report}, f, indent=2)
    if a.no_write:
        print(body)
    else:
        doc_sections.replace_section("docs/BENCHMARKS.md", "qat_cnn", body)
        print("qat_cnn: wrote the qat_cnn section of docs/BENCHMARKS.md", file=sys.stderr)


if __name__ == "__main__":
    main()
