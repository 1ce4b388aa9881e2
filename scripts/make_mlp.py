#!/usr/bin/env python3
"""scripts/make_mlp.py: a MatMul-heavy MLP for the int4 weight-only work, with data.

Writes to --out:
  mlp.onnx       x [batch, W] -> (MatMul [W, W] + bias -> Relu) x (layers - 1) -> MatMul
                 [W, W] + bias -> y, opset 17, symbolic batch. Weights are Gaussian with
                 a few large columns per layer (the outlier input channels of real
                 transformers' activations), scaled 1/sqrt(W).
  calib.npy      --calib rows of inputs, eval.npy --eval rows: both drawn from one
                 distribution whose covariance is far from isotropic (a rank-64 signal plus
                 noise, a few channels 10x larger), as real activations are. Round-to-nearest
                 ignores this structure; GPTQ uses it, which is what a fair comparison
                 needs (on white noise inputs GPTQ has nothing to exploit).
Deterministic (seeded). Needs numpy and onnx (.venv of scripts/setup.sh).

Usage: .venv/bin/python scripts/make_mlp.py --out DIR [--width 4096] [--layers 4]
           [--calib 256] [--eval 64] [--seed 0]
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def inputs(rng, rows, width, basis, loud):
    z = rng.standard_normal((rows, basis.shape[0])).astype(np.float32)
    x = z @ basis + 0.1 * rng.standard_normal((rows, width)).astype(np.float32)
    x[:, loud] *= 10.0
    return x.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--width", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--calib", type=int, default=256)
    ap.add_argument("--eval", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    w = a.width
    os.makedirs(a.out, exist_ok=True)

    nodes, inits = [], []
    cur = "x"
    for i in range(a.layers):
        weight = (rng.standard_normal((w, w)) / np.sqrt(w)).astype(np.float32)
        weight[rng.choice(w, 4, replace=False), :] *= 4.0
        bias = (0.01 * rng.standard_normal(w)).astype(np.float32)
        inits += [numpy_helper.from_array(weight, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
        nodes.append(helper.make_node("MatMul", [cur, f"w{i}"], [f"mm{i}"], name=f"fc{i}"))
        out = "y" if i == a.layers - 1 else f"h{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"b{i}"], [out if i == a.layers - 1 else f"a{i}"], name=f"bias{i}"))
        if i != a.layers - 1:
            nodes.append(helper.make_node("Relu", [f"a{i}"], [out], name=f"relu{i}"))
        cur = out
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", w])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(a.out, "mlp.onnx")
    if model.ByteSize() > 1_900_000_000:
        onnx.save(model, path, save_as_external_data=True, location="mlp.onnx.data")
    else:
        onnx.save(model, path)

    basis = rng.standard_normal((64, w)).astype(np.float32)
    loud = rng.choice(w, max(1, w // 256), replace=False)
    np.save(os.path.join(a.out, "calib.npy"), inputs(rng, a.calib, w, basis, loud))
    np.save(os.path.join(a.out, "eval.npy"), inputs(rng, a.eval, w, basis, loud))
    np.save(os.path.join(a.out, "eval1.npy"), inputs(rng, 1, w, basis, loud))
    print(f"wrote {path} ({a.layers} layers of {w} x {w}), calib.npy, eval.npy, eval1.npy")


if __name__ == "__main__":
    main()
