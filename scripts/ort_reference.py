#!/usr/bin/env python3
"""scripts/ort_reference.py: ONNX Runtime's outputs for the models of scripts/export_models.py.

For every model file listed in DIR/models.json, runs it with ONNX Runtime
(CPUExecutionProvider, intra_op_num_threads 1, all graph optimizations) on the inputs the
manifest names, and writes
  NAME_opsetN.ort_<output>.npy   ONNX Runtime's output
Then prints, per output, the largest absolute difference from PyTorch's reference
(NAME.torch_<output>.npy) and the largest |reference| for scale; ~1e-5 is normal. The
manifest entry gains "ort_outputs" (output name -> .npy), "ort_max_abs_diff" (output name
-> difference) and the top level "onnxruntime_version".

Usage (the virtualenv of scripts/setup.sh, which has onnxruntime):
  .venv/bin/python scripts/ort_reference.py [--dir DIR] [--only NAME[,NAME]] [--max-diff D]
Exits 1 when a difference exceeds --max-diff (default 1e-3), 2 on a missing or bad file.
"""

import argparse
import json
import os
import sys
import time

MANIFEST = "models.json"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="build/models",
                        help="directory of models.json and the models (default build/models)")
    parser.add_argument("--only", help="comma-separated model names (default: every model)")
    parser.add_argument("--max-diff", type=float, default=1e-3,
                        help="largest acceptable |ORT - torch| (default 1e-3)")
    return parser.parse_args()


def fail(message):
    print(f"ort_reference: {message}", file=sys.stderr)
    sys.exit(2)


try:
    import numpy as np
    import onnxruntime as ort
except ImportError as err:
    fail(f"cannot import onnxruntime and numpy with {sys.executable} ({err}); "
         "run scripts/setup.sh and use .venv/bin/python")


def load_npy(directory, file, what):
    path = os.path.join(directory, file)
    if not os.path.exists(path):
        fail(f"{path} ({what}) is missing: run scripts/export_models.py --out {directory}")
    return np.load(path)


def save_npy(path, array):
    tmp = path + ".tmp.npy"
    np.save(tmp, array)
    os.replace(tmp, path)


def run_model(directory, entry):
    """Runs one manifest entry; returns {output name: (ort file, max abs diff, max |ref|)}."""
    path = os.path.join(directory, entry["file"])
    if not os.path.exists(path):
        fail(f"{path} is missing: run scripts/export_models.py --out {directory}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    declared = {i.name for i in session.get_inputs()}
    if declared != set(entry["inputs"]):
        fail(f"{path} declares inputs {sorted(declared)}, the manifest {sorted(entry['inputs'])}")
    feeds = {name: load_npy(directory, file, f"input {name}")
             for name, file in entry["inputs"].items()}

    names = list(entry["outputs"])
    results = {}
    for name, ort_out in zip(names, session.run(names, feeds)):
        ref = load_npy(directory, entry["outputs"][name], f"torch reference for {name}")
        if ort_out.shape != ref.shape:
            fail(f"{path}: output {name} is {ort_out.shape}, the torch reference {ref.shape}")
        ort_file = f"{os.path.splitext(entry['file'])[0]}.ort_{name}.npy"
        save_npy(os.path.join(directory, ort_file), ort_out)
        diff = float(np.max(np.abs(ort_out.astype(np.float64) - ref.astype(np.float64))))
        results[name] = (ort_file, diff, float(np.max(np.abs(ref))))
    return results


def main():
    args = parse_args()
    manifest_path = os.path.join(args.dir, MANIFEST)
    if not os.path.exists(manifest_path):
        fail(f"{manifest_path} is missing: run /usr/bin/python3 scripts/export_models.py --out {args.dir}")
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
        entries = manifest["models"]
    except (OSError, ValueError, KeyError) as err:
        fail(f"cannot read {manifest_path}: {err}")

    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {e["name"] for e in entries}
        if unknown:
            fail(f"--only: {','.join(sorted(unknown))} not in {manifest_path}")
        entries = [e for e in entries if e["name"] in wanted]

    print(f"ort_reference: onnxruntime {ort.__version__}, {len(entries)} models")
    worst = 0.0
    for entry in entries:
        t0 = time.perf_counter()
        results = run_model(args.dir, entry)
        seconds = time.perf_counter() - t0
        entry["ort_outputs"] = {name: r[0] for name, r in results.items()}
        entry["ort_max_abs_diff"] = {name: r[1] for name, r in results.items()}
        for name, (_, diff, scale) in results.items():
            worst = max(worst, diff)
            flag = "" if diff <= args.max_diff else f"  > {args.max_diff:g}"
            print(f"ort_reference: {entry['file']:28s} {name:18s} max|ort - torch| {diff:.3g} "
                  f"(max|torch| {scale:.3g}) {seconds:5.2f} s{flag}")

    # Re-read the manifest before writing, so that only these entries change.
    with open(manifest_path) as f:
        current = json.load(f)
    by_key = {(e["name"], e["opset"]): e for e in entries}
    current["models"] = [by_key.get((e["name"], e["opset"]), e) for e in current["models"]]
    current["onnxruntime_version"] = ort.__version__
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(current, f, indent=2)
        f.write("\n")
    os.replace(tmp, manifest_path)

    if worst > args.max_diff:
        print(f"ort_reference: largest difference {worst:.3g} exceeds --max-diff {args.max_diff:g}",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
