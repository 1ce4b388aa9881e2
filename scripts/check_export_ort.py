#!/usr/bin/env python3
"""scripts/check_export_ort.py: ONNX Runtime runs what `lowp optimize` writes, and agrees.

Two checks, each printing the largest |difference| it saw:

  element-wise   A small model built here with onnx.helper (opset 13: Add, Mul, Sub, Div,
                 Relu, Sigmoid, Tanh, Clip, Max, Identity, a foldable constant sub-graph,
                 a symbolic batch dim and a 1.2 MB weight, so the exported model has
                 external data). `lowp optimize` rewrites it; the exported file must pass
                 onnx.checker, and ONNX Runtime's outputs on it must equal (within --tol)
                 its outputs on the original.
  models         For each model named by --models (default simplenet,squeezenet1_1,mobilenet_v2,resnet18,minilm) found
                 in --model-dir's models.json (scripts/export_models.py), at its highest
                 opset: `lowp optimize`, then ONNX Runtime on the exported model against
                 PyTorch's reference output (within --tol). A model whose ops lowp's
                 runtime cannot run yet ("has no kernel") is reported as skipped; a missing
                 model directory skips the whole check.

Usage (the virtualenv of scripts/setup.sh, which has onnxruntime and onnx):
  .venv/bin/python scripts/check_export_ort.py --lowp build/rel/tools/lowp/lowp --work DIR
      [--model-dir build/models] [--models simplenet,squeezenet1_1,mobilenet_v2,resnet18,minilm] [--tol 1e-4]
Exits 0 when every check that ran passed, 1 on a difference or a failure.
"""

import argparse
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
except ImportError as err:
    print(f"check_export_ort: cannot import onnx, onnxruntime and numpy with {sys.executable} "
          f"({err}); run scripts/setup.sh and use .venv/bin/python", file=sys.stderr)
    sys.exit(1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lowp", required=True, help="the lowp binary")
    parser.add_argument("--work", required=True, help="a scratch directory")
    parser.add_argument("--model-dir", default="build/models", help="scripts/export_models.py's output")
    parser.add_argument("--models", default="simplenet,squeezenet1_1,mobilenet_v2,resnet18,minilm", help="comma-separated model names")
    parser.add_argument("--tol", type=float, default=1e-4, help="largest acceptable |difference|")
    return parser.parse_args()


def run_ort(path, feeds):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def lowp_optimize(lowp, src, dst):
    """Runs `lowp optimize`; returns (ok, output text)."""
    proc = subprocess.run([lowp, "optimize", src, "-o", dst], capture_output=True, text=True)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def elementwise_model(path):
    rng = np.random.default_rng(7)
    big = rng.standard_normal((300, 1024)).astype(np.float32)  # 1.2 MB: external data
    bias = rng.standard_normal((1024,)).astype(np.float32)
    c1 = np.float32(0.25)
    c2 = np.float32(0.5)
    inits = [
        numpy_helper.from_array(big, "big"),
        numpy_helper.from_array(bias, "bias"),
        numpy_helper.from_array(np.array(c1), "c1"),
        numpy_helper.from_array(np.array(c2), "c2"),
        numpy_helper.from_array(np.array(-1.0, dtype=np.float32), "lo"),
        numpy_helper.from_array(np.array(1.5, dtype=np.float32), "hi"),
    ]
    nodes = [
        helper.make_node("Add", ["c1", "c2"], ["c12"], name="fold_me"),  # constant: folded
        helper.make_node("Mul", ["x", "big"], ["xw"], name="mul"),
        helper.make_node("Add", ["xw", "bias"], ["xwb"], name="add"),
        helper.make_node("Identity", ["xwb"], ["xwb_id"], name="identity"),
        helper.make_node("Relu", ["xwb_id"], ["r"], name="relu"),
        helper.make_node("Sigmoid", ["xwb"], ["s"], name="sigmoid"),
        helper.make_node("Mul", ["s", "c12"], ["s2"], name="scale"),
        helper.make_node("Tanh", ["x"], ["t"], name="tanh"),
        helper.make_node("Clip", ["t", "lo", "hi"], ["tc"], name="clip"),
        helper.make_node("Sub", ["r", "tc"], ["d"], name="sub"),
        helper.make_node("Max", ["d", "s2"], ["m"], name="max"),
        helper.make_node("Div", ["m", "c2"], ["y"], name="div"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 300, 1024])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 300, 1024])
    graph = helper.make_graph(nodes, "elementwise", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="check_export_ort")
    model.ir_version = 7
    onnx.save(model, path)
    return {"x": rng.standard_normal((2, 300, 1024)).astype(np.float32)}


def max_diff(a, b):
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0


def check_elementwise(args):
    src = os.path.join(args.work, "elementwise.onnx")
    dst = os.path.join(args.work, "elementwise.opt.onnx")
    feeds = elementwise_model(src)
    ok, text = lowp_optimize(args.lowp, src, dst)
    print(text)
    if not ok:
        print("element-wise: FAIL: lowp optimize failed")
        return False
    if not os.path.exists(dst + ".data"):
        print(f"element-wise: FAIL: {dst}.data (external data) was not written")
        return False
    onnx.checker.check_model(dst, full_check=True)
    exported = onnx.load(dst, load_external_data=False)
    ops = [n.op_type for n in exported.graph.node]
    if "Identity" in ops or len(ops) >= 12:
        print(f"element-wise: FAIL: the optimized model still has {len(ops)} nodes: {ops}")
        return False
    want = run_ort(src, feeds)
    got = run_ort(dst, feeds)
    worst = max(max_diff(want[k], got[k]) for k in want)
    verdict = "ok" if worst <= args.tol else "FAIL"
    print(f"element-wise: ORT on the exported model vs ORT on the original: max abs diff {worst:.3g} "
          f"(opset {exported.opset_import[0].version}, IR {exported.ir_version}, {len(ops)} nodes) {verdict}")
    return worst <= args.tol


def check_models(args):
    manifest_path = os.path.join(args.model_dir, "models.json")
    if not os.path.exists(manifest_path):
        print(f"models: skipped ({manifest_path} is missing: run scripts/export_models.py)")
        return True
    with open(manifest_path) as f:
        manifest = json.load(f)
    good = True
    for name in [n for n in args.models.split(",") if n]:
        entries = [m for m in manifest["models"] if m["name"] == name
                   and os.path.exists(os.path.join(args.model_dir, m["file"]))]
        if not entries:
            print(f"{name}: skipped (not in {manifest_path})")
            continue
        entry = max(entries, key=lambda m: m["opset"])
        src = os.path.join(args.model_dir, entry["file"])
        dst = os.path.join(args.work, f"{name}.opt.onnx")
        ok, text = lowp_optimize(args.lowp, src, dst)
        if not ok:
            if "has no kernel in lowp's runtime" in text:
                print(f"{name}: skipped (lowp cannot run it yet: {text.splitlines()[-1]})")
                continue
            print(f"{name}: FAIL: lowp optimize: {text}")
            good = False
            continue
        print(text)
        onnx.checker.check_model(dst, full_check=True)
        feeds = {k: np.load(os.path.join(args.model_dir, v)) for k, v in entry["inputs"].items()}
        got = run_ort(dst, feeds)
        for out, ref_file in entry["outputs"].items():
            ref = np.load(os.path.join(args.model_dir, ref_file))
            d = max_diff(got[out], ref)
            verdict = "ok" if d <= args.tol else "FAIL"
            print(f"{name} (opset {entry['opset']}): ORT on the exported model vs torch, output "
                  f"'{out}': max abs diff {d:.3g} {verdict}")
            good = good and d <= args.tol
    return good


def main():
    args = parse_args()
    os.makedirs(args.work, exist_ok=True)
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}")
    good = check_elementwise(args)
    good = check_models(args) and good
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
