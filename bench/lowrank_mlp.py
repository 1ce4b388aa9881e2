#!/usr/bin/env python3
"""bench/lowrank_mlp.py: low-rank compression of a wide MLP on Fashion-MNIST, end to end
with lowp alone: the "lowrank" section of docs/BENCHMARKS.md (issue 6's low-rank target:
at least 1.5x faster at batch 1, within 0.5 point of the original after fine-tuning).

1. An MLP 784 -> H -> H -> 10 (Gemm + ReLU; H = --hidden, 2048) initialized as PyTorch's
   nn.Linear (uniform +-1/sqrt(fan_in), seeded), trained by `lowp train --model` on the
   60,000 training images for --epochs.
2. `lowp compress --lowrank SPEC` (timed decisions at batch 1, 1 thread).
3. `lowp train --init` fine-tunes the compressed model for --finetune-epochs; the original
   gets the same extra epochs from its weights too (the control: what the extra training
   alone is worth).
4. Accuracy on the 10,000 test images (`lowp run`), latency at batch 1 and 1 thread from
   `lowp bench` in --rounds interleaved rounds (median over rounds).

Usage: .venv/bin/python bench/lowrank_mlp.py [--dir build/lowrank] [--hidden 2048]
           [--epochs 2] [--finetune-epochs 1] [--lowrank energy=0.7] [--threads 2]
           [--rounds 5] [--no-write]
Needs numpy and onnx (.venv of scripts/setup.sh) and dataset-fashion-mnist.
"""

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
import doc_sections  # noqa: E402
from bench_util import cpu_model_name, run_json  # noqa: E402

LOWP = "build/release/tools/lowp/lowp"
DATA = os.environ.get("LOWP_FASHION_MNIST_DIR") or "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # lowp train's normalization (tools/lowp/train_data.h)


def write_mlp(path, hidden, seed):
    sizes = [784, hidden, hidden, 10]
    rng = np.random.default_rng(seed)
    nodes, inits, cur = [], [], "input"
    for i in range(3):
        k, n = sizes[i], sizes[i + 1]
        bound = 1.0 / np.sqrt(k)
        inits += [numpy_helper.from_array(rng.uniform(-bound, bound, (n, k)).astype(np.float32), f"fc{i + 1}.weight"),
                  numpy_helper.from_array(rng.uniform(-bound, bound, n).astype(np.float32), f"fc{i + 1}.bias")]
        z = "logits" if i == 2 else f"z{i + 1}"
        nodes.append(helper.make_node("Gemm", [cur, f"fc{i + 1}.weight", f"fc{i + 1}.bias"], [z], name=f"fc{i + 1}",
                                      transB=1))
        if i < 2:
            nodes.append(helper.make_node("Relu", [z], [f"h{i + 1}"], name=f"relu{i + 1}"))
            cur = f"h{i + 1}"
    graph = helper.make_graph(nodes, "wide_mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 784])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_set(d):
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), "rb") as f:
        images = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 784)
    with gzip.open(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        labels = np.frombuffer(f.read()[8:], dtype=np.uint8).astype(np.int64)
    x = ((images.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32)
    path = os.path.join(d, "test_x.npy")
    np.save(path, x)
    return path, labels


def accuracy(model, x_path, labels, d):
    """Top-1 accuracy of `lowp run` on the test set (the one output, whatever its name)."""
    out = os.path.join(d, "run_out")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([LOWP, "run", model, "--input", f"input={x_path}", "--output-dir", out], check=True,
                   stdout=subprocess.DEVNULL)
    (name,) = os.listdir(out)
    return float((np.load(os.path.join(out, name)).argmax(1) == labels).mean())


def train(args, log):
    print("lowrank_mlp: " + " ".join(args), file=sys.stderr)
    t0 = time.time()
    r = run_json(args, "lowrank_mlp")
    r["wall_seconds"] = time.time() - t0
    with open(log, "w") as f:
        json.dump(r, f, indent=1)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="build/lowrank")
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--finetune-epochs", type=int, default=1)
    ap.add_argument("--finetune-lr", default="3e-4")
    ap.add_argument("--lowrank", default="energy=0.7")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    d = a.dir
    os.makedirs(d, exist_ok=True)
    t_start = time.time()
    init = os.path.join(d, "mlp_init.onnx")
    write_mlp(init, a.hidden, a.seed)
    x_path, labels = test_set(d)
    m = {k: os.path.join(d, f"{k}.onnx") for k in ("original", "compressed", "finetuned", "original_more")}
    common = ["--threads", str(a.threads), "--batch", "64", "--progress-every", "100000", "--json"]

    cmd_train = [LOWP, "train", "--model", init, "--epochs", str(a.epochs), "--lr", "1e-3", "--out", m["original"]]
    t_orig = train(cmd_train + common, os.path.join(d, "train_original.json"))
    cmd_compress = [LOWP, "compress", m["original"], "-o", m["compressed"], "--lowrank", a.lowrank]
    t0 = time.time()
    comp = run_json(cmd_compress + ["--json"], "lowrank_mlp")
    compress_seconds = time.time() - t0
    ft = ["--epochs", str(a.finetune_epochs), "--lr", a.finetune_lr]
    cmd_ft = [LOWP, "train", "--init", m["compressed"]] + ft + ["--out", m["finetuned"]]
    t_ft = train(cmd_ft + common, os.path.join(d, "train_finetuned.json"))
    cmd_more = [LOWP, "train", "--init", m["original"]] + ft + ["--out", m["original_more"]]
    t_more = train(cmd_more + common, os.path.join(d, "train_original_more.json"))

    acc = {k: accuracy(p, x_path, labels, d) for k, p in m.items()}
    lat_runs = {k: [] for k in ("original", "compressed", "finetuned")}
    cmd_bench = [LOWP, "bench", "MODEL", "--batch", "1", "--dim", "N=1", "--threads", "1", "--min-time", "1", "--json"]
    for r in range(a.rounds):
        print(f"lowrank_mlp: latency round {r + 1}/{a.rounds}", file=sys.stderr)
        for k in lat_runs:
            j = run_json([m[k] if c == "MODEL" else c for c in cmd_bench], "lowrank_mlp")
            assert j["batch"] == 1, j
            lat_runs[k].append(j["latency_us_median"])
    lat = {k: statistics.median(v) for k, v in lat_runs.items()}
    total_seconds = time.time() - t_start

    layer_rows = []
    for l in comp["layers"]:
        def us(v):
            return "-" if v is None else f"{v:.1f}"
        energy = "-" if l["energy_kept"] is None else f"{l['energy_kept']:.3f}"
        layer_rows.append(f"| {l['node']} | {l['k']}x{l['n']} | {l['rank']} | {energy} | {l['params_before']} | "
                          f"{l['params_after']} | {us(l['dense_us'])} | {us(l['factored_us'])} | {l['decision']} |")
    speedup = lat["original"] / lat["finetuned"]
    change = 100 * (acc["finetuned"] - acc["original"])
    h = a.hidden
    lines = [
        "## Low-rank compression: a wide MLP on Fashion-MNIST",
        "",
        "<!-- generated by bench/lowrank_mlp.py; do not edit by hand -->",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu_model_name()}. MLP 784 -> {h} -> {h} -> 10 "
        f"(Gemm + ReLU), trained by lowp from PyTorch's nn.Linear initialization for {a.epochs} epochs (Adam 1e-3, "
        f"batch 64, {a.threads} threads); compressed with `--lowrank {a.lowrank}` (decisions timed at batch 1, "
        f"1 thread); fine-tuned {a.finetune_epochs} epoch(s) at Adam {a.finetune_lr}. Accuracy on the 10,000 test "
        f"images (`lowp run`); latency at batch 1, 1 thread, median of {a.rounds} interleaved rounds of `lowp bench`. "
        f"The control is the original trained the same extra epoch(s) from its weights. Whole run {total_seconds:.0f} s.",
        "",
        "| model | parameters | accuracy | batch 1 us | speed-up |",
        "|---|---:|---:|---:|---:|",
        f"| original | {comp['params_before']} | {acc['original']:.4f} | {lat['original']:.1f} | 1.00x |",
        f"| compressed | {comp['params_after']} | {acc['compressed']:.4f} | {lat['compressed']:.1f} | "
        f"{lat['original'] / lat['compressed']:.2f}x |",
        f"| compressed + fine-tuned | {comp['params_after']} | {acc['finetuned']:.4f} | {lat['finetuned']:.1f} | "
        f"{speedup:.2f}x |",
        f"| control: original + the same fine-tuning | {comp['params_before']} | {acc['original_more']:.4f} | - | - |",
        "",
        f"Target (issue 6): at least 1.5x faster at batch 1 and within 0.5 point of the original after fine-tuning: "
        f"{speedup:.2f}x faster, accuracy {change:+.2f} points against the original "
        f"({100 * (acc['finetuned'] - acc['original_more']):+.2f} against the control); "
        f"met: {speedup >= 1.5 and change >= -0.5}.",
        "",
        f"`lowp compress` per layer ({compress_seconds:.1f} s, SVD and timing included; times of one GEMM call at "
        "batch 1 on lowp's fp32 kernels, weights warm):",
        "",
        "| layer | K x N | rank | energy kept | params | params after | dense us | factorized us | decision |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
        *layer_rows,
        "",
        f"Training time: original {t_orig['train_seconds']:.0f} s, fine-tuning the compressed model "
        f"{t_ft['train_seconds']:.0f} s, the control {t_more['train_seconds']:.0f} s. Latency per round (us): "
        + "; ".join(f"{k} " + ", ".join(f"{v:.1f}" for v in lat_runs[k]) for k in lat_runs) + ".",
        "",
        "Commands:",
        "",
        "```",
        f".venv/bin/python bench/lowrank_mlp.py --dir {d} --hidden {h} --epochs {a.epochs} --finetune-epochs "
        f"{a.finetune_epochs} --lowrank {a.lowrank} --threads {a.threads} --rounds {a.rounds}",
        " ".join(cmd_train + common),
        " ".join(cmd_compress),
        " ".join(cmd_ft + common),
        " ".join(cmd_bench).replace("MODEL", m["finetuned"]),
        "```",
    ]
    body = "\n".join(lines)
    if a.no_write:
        print(body)
    else:
        doc_sections.replace_section("docs/BENCHMARKS.md", "lowrank", body)
        print("lowrank_mlp: wrote the lowrank section of docs/BENCHMARKS.md", file=sys.stderr)
        print(body)


if __name__ == "__main__":
    main()
