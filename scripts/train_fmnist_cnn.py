#!/usr/bin/python3
"""scripts/train_fmnist_cnn.py: the Fashion-MNIST CNN of the quantization work, trained
with PyTorch and exported to ONNX.

The network (the same one `lowp train --model cnn` builds):
  input [N, 1, 28, 28] float32, pixels normalized as (x / 255 - 0.2860) / 0.3530
  Conv(1 -> 32, 3x3, pad 1) + BatchNorm + ReLU -> MaxPool 2x2
  Conv(32 -> 64, 3x3, pad 1) + BatchNorm + ReLU -> MaxPool 2x2
  Flatten -> Linear(3136 -> 128) + ReLU -> Linear(128 -> 10)      output "logits" [N, 10]

Trained with Adam (lr 1e-3, batch 64) on the training set of Debian's dataset-fashion-mnist,
seeded, one thread per torch op set by --threads. Written into --out (default
build/fmnist):
  cnn.onnx            the model, opset 17, dim 0 dynamic ("batch")
  test_x.npy          the 10,000 test images, normalized, float32 [10000, 1, 28, 28]
  test_y.npy          their labels, int64 [10000]
  calib_x.npy         --calib training images (default 512), normalized, float32
  cnn.json            epochs, seconds, and PyTorch's test accuracy

Usage: /usr/bin/python3 scripts/train_fmnist_cnn.py [--epochs 4] [--train-limit N] [--out DIR]
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def normalized(images):
    return ((images.astype(np.float32) / 255.0 - MEAN) / STD).reshape(-1, 1, 28, 28)


def build(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="build/fmnist")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-limit", type=int, default=0, help="train on the first N images (0: all)")
    parser.add_argument("--calib", type=int, default=512, help="calibration images to write")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    train_x = normalized(read_idx(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz")))
    train_y = read_idx(os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    test_x = normalized(read_idx(os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz")))
    test_y = read_idx(os.path.join(DATA_DIR, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    if args.train_limit:
        train_x, train_y = train_x[:args.train_limit], train_y[:args.train_limit]

    model = build(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(train_x))
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            x, y = torch.from_numpy(train_x[idx]), torch.from_numpy(train_y[idx])
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}/{args.epochs}: last loss {loss.item():.4f}", file=sys.stderr)
    seconds = time.time() - start

    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(test_x[i:i + 1000])) for i in range(0, 10000, 1000)])
    accuracy = float((logits.argmax(1).numpy() == test_y).mean())

    path = os.path.join(args.out, "cnn.onnx")
    torch.onnx.export(model, torch.from_numpy(test_x[:1]), path + ".tmp", opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    os.replace(path + ".tmp", path)
    np.save(os.path.join(args.out, "test_x.npy"), test_x)
    np.save(os.path.join(args.out, "test_y.npy"), test_y)
    calib_idx = np.random.default_rng(args.seed + 1).permutation(len(train_x))[:args.calib]
    np.save(os.path.join(args.out, "calib_x.npy"), train_x[np.sort(calib_idx)])
    with open(os.path.join(args.out, "cnn.json"), "w") as f:
        json.dump({"epochs": args.epochs, "train_images": len(train_x), "seconds": seconds,
                   "torch_test_accuracy": accuracy}, f, indent=1)
    print(f"cnn.onnx: PyTorch test accuracy {accuracy:.4f} after {args.epochs} epochs "
          f"({seconds:.0f} s)")


if __name__ == "__main__":
    main()
