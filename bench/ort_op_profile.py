#!/usr/bin/env python3
"""bench/ort_op_profile.py: ONNX Runtime's time per op type, the peer of `lowp run --profile`.

Runs MODEL on INPUT.npy (its first input) REPEAT times on 1 thread with ORT's profiler
(SessionOptions.enable_profiling) and prints each op type's kernel time per run, largest
first, so a layer where lowp loses can be found by comparing the two tables, e.g.:

  .venv/bin/python bench/ort_op_profile.py build/models/squeezenet1_1_opset17.onnx \\
      build/models/squeezenet1_1.input_input.npy
  build/release/tools/lowp/lowp run build/models/squeezenet1_1_opset17.onnx \\
      --input input=build/models/squeezenet1_1.input_input.npy --output-dir /tmp/o \\
      --profile --repeat 100 --threads 1

With --nodes N it also lists the N slowest nodes (the peer of `lowp run --profile-nodes N`).

Usage: .venv/bin/python bench/ort_op_profile.py MODEL INPUT.npy [--repeat 100] [--threads 1]
                                                [--nodes N]
"""

import argparse
import json
import os
import tempfile
from collections import defaultdict

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("--repeat", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--nodes", type=int, default=0, help="also list the N slowest nodes")
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort_profile")
    s = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    feed = {s.get_inputs()[0].name: np.load(a.input)}
    for _ in range(a.repeat):
        s.run(None, feed)
    path = s.end_profiling()
    with open(path) as f:
        events = json.load(f)
    os.remove(path)
    per_op = defaultdict(float)
    per_node = defaultdict(float)
    node_op = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_op[e["args"]["op_name"]] += e["dur"]
            node = e["name"][: -len("_kernel_time")]
            per_node[node] += e["dur"]
            node_op[node] = e["args"]["op_name"]
    total = sum(per_op.values())
    print(f"{'op':24s} {'ms':>8s} {'share':>7s}")
    for op in sorted(per_op, key=lambda k: -per_op[k]):
        print(f"{op:24s} {per_op[op] / a.repeat / 1000:8.3f} {100 * per_op[op] / total:6.1f}%")
    print(f"{'total':24s} {total / a.repeat / 1000:8.3f}")
    if a.nodes > 0:
        print(f"\nslowest nodes (time per run):\n{'ms':>9s}  {'node':40s} op")
        for node in sorted(per_node, key=lambda k: -per_node[k])[: a.nodes]:
            print(f"{per_node[node] / a.repeat / 1000:9.3f}  {node:40s} {node_op[node]}")


if __name__ == "__main__":
    main()
