#!/usr/bin/env python3
"""scripts/check_train_ort.py: ONNX Runtime runs a model `lowp train` exported, to the same
predictions as lowp's trained model.

`lowp train ... --out MODEL --predictions LOGITS.npy --limit-test N` writes the trained
model and its logits on the first N Fashion-MNIST test images. This script reads the same
images (t10k-images-idx3-ubyte.gz, normalized as lowp train does: (x / 255 - 0.2860) /
0.3530), runs MODEL in ONNX Runtime and requires:
  - the same top-1 class for every image;
  - logits within TOL * (1 + |lowp's|), TOL = 1e-4: lowp and ORT sum in different orders
    in fp32 (k up to 3136 in the CNN's first dense layer) and ORT folds BatchNorm into
    the convolution, which rounds differently; both stay far below 1e-4 relative.
--flat feeds [N, 784] (mlp, simplenet) instead of [N, 1, 28, 28].
--top1 requires the same top-1 class only, and prints the logit difference: for the QDQ
int8 model of `lowp train --qat int8`, whose logits ORT computes with its own integer
kernels and requantization (equal to lowp's on this machine, but ORT promises nothing
about its rounding at ties).

Usage: .venv/bin/python scripts/check_train_ort.py MODEL LOGITS.npy [--flat] [--top1] [--data DIR]
Exits 0 on agreement, 1 on a difference (printed), 2 on bad usage.
"""

import argparse
import gzip
import os
import sys

import numpy as np
import onnxruntime as ort

TOL = 1e-4


def read_images(path, n):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = np.frombuffer(data[:16], dtype=">u4")
    if magic != 0x803:
        sys.exit(f"check_train_ort: {path} is not an IDX image file")
    images = np.frombuffer(data[16:], dtype=np.uint8).reshape(count, rows, cols)
    return images[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("logits")
    ap.add_argument("--flat", action="store_true")
    ap.add_argument("--top1", action="store_true")
    ap.add_argument("--data", default=os.environ.get("LOWP_FASHION_MNIST_DIR") or "/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    want = np.load(args.logits)
    images = read_images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"), want.shape[0])
    x = ((images.astype(np.float32) / np.float32(255.0) - np.float32(0.2860)) / np.float32(0.3530)).astype(np.float32)
    x = x.reshape(len(x), 784) if args.flat else x.reshape(len(x), 1, 28, 28)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    if got.shape != want.shape:
        print(f"FAIL: ORT logits {got.shape}, lowp's {want.shape}")
        return 1
    same = int((got.argmax(1) == want.argmax(1)).sum())
    err = float(np.max(np.abs(got - want) / (1 + np.abs(want))))
    print(f"{args.model}: ORT and lowp agree on {same} of {len(want)} predictions; max relative logit difference {err:.2e}")
    if same != len(want) or (err > TOL and not args.top1):
        print("FAIL")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
