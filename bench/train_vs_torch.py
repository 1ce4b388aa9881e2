#!/usr/bin/python3
"""bench/train_vs_torch.py: training time per epoch, lowp against PyTorch 1.13, on the CNN
of the quantization work and on SimpleNet, at 1 and 2 threads, rounds interleaved.

Both train the same network on the same Fashion-MNIST rows with Adam (lr 1e-3), batch 64,
fp32, from a fresh process each round:
  lowp     `lowp train --model M --epochs 1 --batch 64 --limit-train R --limit-test 1000
           --threads T --json`; the figure is the epoch's training time in its report
           (the steps: batch gathering, forward, loss, backward, optimizer; evaluation
           and PCA excluded);
  PyTorch  this script with --torch-worker: the same network as nn.Sequential (NCHW,
           PyTorch's default CPU kernels, oneDNN convolutions), the rows as one tensor,
           an epoch of torch.randperm batches: index, zero_grad, forward,
           F.cross_entropy, backward, Adam step, timed with time.perf_counter around the
           loop; torch.set_num_threads(T).
SimpleNet trains on the PCA projection (100 components) in both: lowp fits its PCA once
before training, the worker gets features computed with numpy's SVD; neither is timed.

Each epoch covers R rows (default: 12800 for the CNN, 60000 for SimpleNet); the table
also gives the time scaled to a full 60000-row epoch (time x 60000 / R), which holds as
long as the per-step cost is constant (it is: same batch size, no caching effects across
steps beyond the first few). Rounds alternate lowp, PyTorch per configuration; medians
are reported, with the ratio lowp / PyTorch. The target of issue 6 is <= 0.67.

Accuracy: --accuracy-reports A.json,B.json adds a table of the test accuracy after each
epoch from full runs' reports (`lowp train --model cnn --epochs 6 ... --json > A.json`;
the section prints the command each report records). The full runs take minutes, so they
are run separately and only written up here.

Usage: /usr/bin/python3 bench/train_vs_torch.py [--lowp build/release/tools/lowp/lowp]
       [--rounds 3] [--threads 1,2] [--models cnn,simplenet] [--cnn-rows 12800]
       [--accuracy-reports A.json,...] [--write docs/BENCHMARKS.md]
Needs Debian's python3-torch (hence /usr/bin/python3).
"""

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import time

DATA = os.environ.get("LOWP_FASHION_MNIST_DIR") or "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def load_fashion(rows):
    import numpy as np
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz"), "rb") as f:
        images = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 28, 28)[:rows]
    with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz"), "rb") as f:
        labels = np.frombuffer(f.read()[8:], dtype=np.uint8)[:rows]
    x = ((images.astype(np.float32) / np.float32(255.0) - np.float32(MEAN)) / np.float32(STD)).astype(np.float32)
    return x, labels.astype(np.int64)


def torch_worker(args):
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = load_fashion(args.rows)
    if args.model == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
        X = torch.from_numpy(x.reshape(-1, 1, 28, 28).copy())
    else:
        flat = x.reshape(len(x), 784)
        mean = flat.mean(0)
        _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
        X = torch.from_numpy(((flat - mean) @ vt[:100].T).astype(np.float32))
        model = nn.Sequential(nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 10))
    Y = torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    n = len(Y)
    start, cpu_start = time.perf_counter(), time.process_time()
    perm = torch.randperm(n)
    loss_sum, steps = 0.0, 0
    for i in range(0, n, args.batch):
        idx = perm[i:i + args.batch]
        xb, yb = X[idx], Y[idx]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        loss_sum += loss.item()
        steps += 1
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    capability = next((line.split(":", 1)[1].strip() for line in torch.__config__.show().splitlines()
                       if "CPU capability usage" in line), "unknown")
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": n, "loss": loss_sum / steps,
                      "torch": torch.__version__, "capability": capability}))


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)  # busy (all but idle and iowait), total


def others_busy(seconds=0.5):
    """CPUs kept busy by other processes over a short sleep of ours (as bench/cpu_quiet.sh)."""
    b0, t0 = busy_jiffies()
    time.sleep(seconds)
    b1, t1 = busy_jiffies()
    return (b1 - b0) / max(1, t1 - t0) * os.cpu_count()


def wait_quiet(limit_seconds=20):
    """Waits up to limit_seconds for other processes to use under a quarter of a CPU; returns
    their last measured use."""
    start = time.time()
    busy = others_busy()
    while busy >= 0.25 and time.time() - start < limit_seconds:
        busy = others_busy()
    return busy


def timed_child(cmd):
    """Runs cmd; returns its stdout and the CPUs other processes kept busy meanwhile
    (/proc/stat busy time less the child's own CPU time, over the wall time)."""
    import resource
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, t0 = busy_jiffies()
    w0 = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.time() - w0
    b1, t1 = busy_jiffies()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    hz = os.sysconf("SC_CLK_TCK")
    others = max(0.0, (b1 - b0) / hz - child) / max(1e-9, wall)
    return out, others


def run_lowp(lowp, model, threads, rows, precision="fp32"):
    cmd = [lowp, "train", "--model", model, "--precision", precision, "--epochs", "1", "--batch", "64", "--lr", "1e-3",
           "--optimizer", "adam", "--limit-train", str(rows), "--limit-test", "1000",
           "--threads", str(threads), "--json", "--progress-every", "100000",
           "--out", os.path.join(args_global.tmp, f"{model}.onnx")]
    out, others = timed_child(cmd)
    report = json.loads(out)
    epoch = report["epochs"][0]
    shown = [("T" if i > 0 and cmd[i - 1] == "--threads" else c) for i, c in enumerate(cmd[:-2])]
    return epoch["seconds"], epoch["cpu_seconds"], others, " ".join(shown) + " --out <tmp>/M.onnx"


def run_torch(model, threads, rows):
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--model", model,
           "--threads", str(threads), "--rows", str(rows)]
    out, others = timed_child(cmd)
    result = json.loads(out)
    result["others"] = others
    return result


def main():
    global args_global
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--torch-worker", action="store_true")
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rows", type=int, default=12800)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lowp", default="build/release/tools/lowp/lowp")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default="cnn,simplenet")
    ap.add_argument("--cnn-rows", type=int, default=12800)
    ap.add_argument("--write", default="")
    ap.add_argument("--accuracy-reports", default="")
    ap.add_argument("--accuracy-commit", default="", help="commit of the lowp that wrote the reports")
    ap.add_argument("--bf16-models", default="cnn",
                    help="models also trained with --precision bf16 in each round (bf16 / fp32 column)")
    args = ap.parse_args()
    if args.torch_worker:
        args.threads = int(args.threads)
        torch_worker(args)
        return
    import tempfile
    args.tmp = tempfile.mkdtemp()
    args_global = args
    configs = [(m, int(t)) for m in args.models.split(",") for t in args.threads.split(",")]
    rows_of = {"cnn": args.cnn_rows, "simplenet": 60000}
    load_before = open("/proc/loadavg").read().split()[:3]
    times = {c: {"lowp": [], "torch": [], "lowp_cpu": [], "torch_cpu": [], "lowp_others": [], "torch_others": [],
                 "bf16": []}
             for c in configs}
    bf16_models = set(filter(None, args.bf16_models.split(",")))
    torch_info, lowp_cmds = {}, {}
    for r in range(args.rounds):
        for (model, threads) in configs:
            rows = rows_of[model]
            wait_quiet()
            s, cpu, others, lowp_cmds[model] = run_lowp(args.lowp, model, threads, rows)
            times[(model, threads)]["lowp"].append(s)
            times[(model, threads)]["lowp_cpu"].append(cpu)
            times[(model, threads)]["lowp_others"].append(others)
            if model in bf16_models:
                wait_quiet()
                b, _, _, _ = run_lowp(args.lowp, model, threads, rows, "bf16")
                times[(model, threads)]["bf16"].append(b)
                print(f"round {r + 1} {model} {threads}T: lowp bf16 {b:.3f} s", file=sys.stderr)
            wait_quiet()
            t = run_torch(model, threads, rows)
            torch_info = t
            times[(model, threads)]["torch"].append(t["seconds"])
            times[(model, threads)]["torch_cpu"].append(t["cpu_seconds"])
            times[(model, threads)]["torch_others"].append(t["others"])
            print(f"round {r + 1} {model} {threads}T: lowp {s:.3f} s ({cpu:.3f} s CPU, others {others:.2f} CPUs), "
                  f"PyTorch {t['seconds']:.3f} s ({t['cpu_seconds']:.3f} s CPU, others {t['others']:.2f} CPUs)",
                  file=sys.stderr)
    load_after = open("/proc/loadavg").read().split()[:3]
    rows_md = ["| model | threads | rows per epoch | lowp (s) | PyTorch (s) | lowp / PyTorch | lowp CPU (s) | PyTorch CPU (s) | CPU ratio | lowp, 60000-row epoch (s) | PyTorch, 60000-row epoch (s) | lowp bf16 (s) | bf16 / fp32 |",
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    results = []
    for (model, threads) in configs:
        tm = times[(model, threads)]
        lo, to = statistics.median(tm["lowp"]), statistics.median(tm["torch"])
        lc, tc = statistics.median(tm["lowp_cpu"]), statistics.median(tm["torch_cpu"])
        rows = rows_of[model]
        scale = 60000 / rows
        bf = statistics.median(tm["bf16"]) if tm["bf16"] else None
        bf_cells = f"{bf:.3f} | {bf / lo:.2f}x" if bf else "- | -"
        rows_md.append(f"| {model} | {threads} | {rows} | {lo:.3f} | {to:.3f} | {lo / to:.2f}x | {lc:.3f} | {tc:.3f} | {lc / tc:.2f}x | {lo * scale:.2f} | {to * scale:.2f} | {bf_cells} |")
        results.append({"model": model, "threads": threads, "rows": rows, "lowp": lo, "torch": to,
                        "lowp_cpu": lc, "torch_cpu": tc,
                        "lowp_rounds": tm["lowp"], "torch_rounds": tm["torch"], "bf16_rounds": tm["bf16"],
                        "lowp_others": tm["lowp_others"], "torch_others": tm["torch_others"]})
    print("\n".join(rows_md))
    print(json.dumps(results))
    if args.write:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        body = f"""## Training: lowp against PyTorch, time per epoch

<!-- generated by bench/train_vs_torch.py; do not edit by hand -->

Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `/usr/bin/python3 bench/train_vs_torch.py --rounds {args.rounds}{' --accuracy-reports ' + args.accuracy_reports if args.accuracy_reports else ''}{' --accuracy-commit ' + args.accuracy_commit if args.accuracy_commit else ''} --write {args.write}`:
{args.rounds} interleaved round(s) (lowp, PyTorch, per configuration), fresh processes, medians. Adam lr 1e-3, batch 64, fp32, the first rows of the Fashion-MNIST training set. The CNN is the quantization work's (Conv 1->32 3x3 + BatchNorm + ReLU, MaxPool 2, Conv 32->64 + BatchNorm + ReLU, MaxPool 2, Linear 3136->128 + ReLU, Linear 128->10); SimpleNet is Linear(100, 50) -> ReLU -> Linear(50, 10) on the PCA-100 projection. Times cover the training steps of one epoch (no evaluation, no PCA): wall clock, and the CPU time of the whole process over the same span (all threads; `getrusage` in lowp, `time.process_time` in PyTorch), which other processes on these shared CPUs do not inflate. Both tools' threads spin a while before sleeping, which counts as CPU time at 2 threads. PyTorch's CPU time exceeds its wall time even under `torch.set_num_threads(1)` (up to 2x here): another of its threads keeps a CPU busy, so its 1-thread figure had help from the second CPU.

- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPU(s); load average (1, 5, 15 min) {' '.join(load_before)} before, {' '.join(load_after)} after (other engineers' builds share these CPUs)
- lowp at commit {commit}: `{lowp_cmds.get('cnn', lowp_cmds.get('simplenet', ''))}` (and `--model simplenet --limit-train 60000`)
- PyTorch {torch_info.get('torch')} (Debian python3-torch), CPU capability {torch_info.get('capability')}: `/usr/bin/python3 bench/train_vs_torch.py --torch-worker --model M --threads T --rows R`

{chr(10).join(rows_md)}

lowp bf16: the same lowp run with `--precision bf16` in each round (matrix work of forward and both gradients on the bf16 kernels, fp32 master weights, activations and reductions); bf16 / fp32 is its median over lowp fp32's.

Each round: seconds (in brackets, the CPUs other processes kept busy during the run, from /proc/stat less the run's own CPU time; each run waits up to 20 s for them to fall under 0.25 first). A 2-thread run on these 2 CPUs while others compute is slowed several times over, for both tools, by threads waiting for each other at every parallel step; compare rounds with little load.

""" + "\n".join(f"- {r['model']} {r['threads']}T: lowp {', '.join(f'{v:.3f} [{o:.2f}]' for v, o in zip(r['lowp_rounds'], r['lowp_others']))}; "
                f"PyTorch {', '.join(f'{v:.3f} [{o:.2f}]' for v, o in zip(r['torch_rounds'], r['torch_others']))}"
                + (f"; lowp bf16 {', '.join(f'{v:.3f}' for v in r['bf16_rounds'])}" if r['bf16_rounds'] else "") for r in results)
        for path in filter(None, args.accuracy_reports.split(",")):
            with open(path) as f:
                rep = json.load(f)
            accs = ", ".join(f"{e['test_accuracy']:.4f}" for e in rep["epochs"])
            command = rep.get("command") or (
                f"lowp train --model {rep['model']} --precision {rep['precision']} --epochs {len(rep['epochs'])} "
                f"--batch {rep['batch']} --lr {rep['lr']:g} --optimizer {rep['optimizer']} --out M.onnx --json")
            first = next((e["epoch"] for e in rep["epochs"] if e["test_accuracy"] >= 0.91), None)
            body += (f"\n\nAccuracy, {rep['model']} {rep['precision']} ({rep['optimizer']}, lr {rep['lr']:g}, batch {rep['batch']}, "
                     f"{rep['train_rows']} training / {rep['test_rows']} test images, {rep['threads']} thread(s)"
                     f"{', lowp at commit ' + args.accuracy_commit if args.accuracy_commit else ''}), "
                     f"`{command}`: test accuracy after each epoch {accs}; "
                     + (f"first >= 0.91 after epoch {first}" if first else "never >= 0.91")
                     + (f"; {rep['skipped_steps']} steps skipped for fp16 overflows, final loss scale {rep['final_loss_scale']:.0f}"
                        if rep.get("final_loss_scale") else "") + ".")
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from doc_sections import replace_section
        replace_section(args.write, "training", body)
        print(f"wrote section 'training' of {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
