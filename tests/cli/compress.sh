#!/usr/bin/env bash
# tests/cli/compress.sh LOWP: `lowp compress --lowrank` end to end (~10 s).
#
# The models (written by the set-up's .venv) have weights of a known small rank (products
# of random [K, r] and [r, N] matrices, r <= 8), so factorizing at rank 8 loses nothing:
# whichever layers are factorized, ONNX Runtime must give the original model's outputs on
# the compressed one. Checked: Gemm (transB 0 and 1, alpha, beta), MatMul + Add and a 1x1
# Conv with stride and padding; the decisions timed on lowp's GEMM (wide layers at rank
# 8 are always faster); --exclude; the JSON report; `lowp train --init` fine-tunes the
# factorized model (ORT agrees with lowp's predictions); bad input gives one
# "lowp: error:" line naming the problem and writes no output.
set -u
lowp=$1
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py="$repo/.venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$py" - "$work" <<'PY' || { echo "FAIL: could not write the test models"; exit 1; }
import os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
work = sys.argv[1]
rng = np.random.default_rng(0)

def low_rank(k, n, r):
    return (rng.standard_normal((k, r)) @ rng.standard_normal((r, n)) / np.sqrt(k * r)).astype(np.float32)

def save(name, nodes, inits, x_shape, y_shape):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(work, name + ".onnx"))

def bias(n):
    return (0.1 * rng.standard_normal(n)).astype(np.float32)

# 784 -> Gemm(transB=1) 512 -> Relu -> Gemm(alpha 0.5, beta 2) 512 -> Relu -> MatMul + Add 10.
dense = {"w1": low_rank(784, 512, 8).T.copy(), "b1": bias(512), "w2": low_rank(512, 512, 6), "b2": bias(512),
         "w3": low_rank(512, 10, 4), "b3": bias(10)}
nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="fc1", transB=1),
         helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
         helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"], name="fc2", alpha=0.5, beta=2.0),
         helper.make_node("Relu", ["h2"], ["a2"], name="relu2"),
         helper.make_node("MatMul", ["a2", "w3"], ["m3"], name="fc3"),
         helper.make_node("Add", ["m3", "b3"], ["y"], name="bias3")]
save("dense", nodes, dense, ["N", 784], ["N", 10])
bad = dict(dense)
bad["w2"] = bad["w2"].copy()
bad["w2"][3, 5] = np.nan
save("nan", nodes, bad, ["N", 784], ["N", 10])

# x [N, 16, 8, 8] -> Conv 1x1 16 -> 64 (stride 2, pads 1, bias) -> Relu -> Conv 3x3 64 -> 8.
conv = {"cw1": low_rank(16, 64, 4).T.reshape(64, 16, 1, 1).copy(), "cb1": bias(64),
        "cw2": (0.05 * rng.standard_normal((8, 64, 3, 3))).astype(np.float32)}
save("conv", [helper.make_node("Conv", ["x", "cw1", "cb1"], ["c1"], name="pointwise", strides=[2, 2], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
              helper.make_node("Conv", ["r1", "cw2"], ["y"], name="spatial", pads=[1, 1, 1, 1])],
     conv, ["N", 16, 8, 8], ["N", 8, 5, 5])
np.save(os.path.join(work, "dense_x.npy"), rng.standard_normal((7, 784)).astype(np.float32))
np.save(os.path.join(work, "conv_x.npy"), rng.standard_normal((3, 16, 8, 8)).astype(np.float32))
PY

# ORT's outputs on ORIGINAL and COMPRESSED agree within 1e-4 of the output scale (fp32
# sums of up to 784 terms in both, in different orders and shapes), and COMPRESSED has
# EXPECT_NODES nodes.
same_outputs() {
  "$py" - "$@" <<'PY'
import sys
import numpy as np
import onnx
import onnxruntime as ort
original, compressed, x_path, expect_nodes = sys.argv[1:5]
x = np.load(x_path)
def run(path):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]
want, got = run(original), run(compressed)
nodes = len(onnx.load(compressed).graph.node)
if nodes != int(expect_nodes):
    sys.exit(f"{compressed}: {nodes} nodes, expected {expect_nodes}")
err = np.abs(want - got).max()
scale = np.abs(want).max()
if not err <= 1e-4 * scale:
    sys.exit(f"{compressed}: ORT outputs differ from the original's by {err} (scale {scale})")
PY
}

# 1. Untimed (--min-speedup 0): every dense layer is factorized at rank 8, exactly.
if "$lowp" compress "$work/dense.onnx" -o "$work/dense.lr.onnx" --lowrank rank=8 --min-speedup 0 --json >"$work/dense.json"; then
  "$py" - "$work/dense.json" <<'PY' || fail "dense report: $(cat "$work/dense.json")"
import json, sys
r = json.load(open(sys.argv[1]))
layers = {l["node"]: l for l in r["layers"]}
assert r["factorized"] == 3, r["factorized"]
fc1 = layers["fc1"]
assert (fc1["k"], fc1["n"], fc1["rank"]) == (784, 512, 8), fc1
assert abs(fc1["energy_kept"] - 1.0) < 1e-9, fc1
assert fc1["params_before"] == 784 * 512 + 512 and fc1["params_after"] == 8 * (784 + 512) + 512, fc1
assert fc1["dense_us"] is None and fc1["decision"] == "factorized", fc1
assert r["params_before"] == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10, r["params_before"]
assert r["params_after"] == 8 * (784 + 512) + 512 + 8 * (512 + 512) + 512 + 8 * (512 + 10) + 10, r["params_after"]
PY
  # Gemm x2 + Relu + Gemm x2 + Relu + MatMul x2 + Add.
  same_outputs "$work/dense.onnx" "$work/dense.lr.onnx" "$work/dense_x.npy" 9 || fail "ORT on the untimed dense model"
else
  fail "lowp compress dense.onnx --min-speedup 0"
fi

# 2. Timed at batch 1 (the default bar, 1.1x): fc1 (784 x 512) and fc2 (512 x 512) at rank
#    8 do a fortieth of the work and must be kept factorized; fc3 is excluded.
if "$lowp" compress "$work/dense.onnx" -o "$work/dense.timed.onnx" --lowrank rank=8 --exclude fc3 >"$work/timed.txt"; then
  grep -qE '^fc1 +Gemm +784x512 +8 +1\.0000 +401920 +10880 .* factorized +rank 8 of 512, [0-9.]+x faster at 1 rows$' "$work/timed.txt" \
    || fail "timed report for fc1: $(cat "$work/timed.txt")"
  grep -qE '^fc2 .* factorized ' "$work/timed.txt" || fail "timed fc2 not factorized: $(cat "$work/timed.txt")"
  grep -qE '^fc3 .* kept +excluded \(--exclude\)$' "$work/timed.txt" || fail "fc3 not excluded: $(cat "$work/timed.txt")"
  grep -qF "2 of 3 layers factorized (rank=8, batch 1, 1 thread)" "$work/timed.txt" || fail "summary: $(cat "$work/timed.txt")"
  same_outputs "$work/dense.onnx" "$work/dense.timed.onnx" "$work/dense_x.npy" 8 || fail "ORT on the timed dense model"
else
  fail "lowp compress dense.onnx (timed)"
fi

# 3. The 1x1 Conv (rank 4), stride and padding on its first half; the 3x3 Conv stays.
if "$lowp" compress "$work/conv.onnx" -o "$work/conv.lr.onnx" --lowrank energy=0.99999 --min-speedup 0 >"$work/conv.txt"; then
  grep -qE '^pointwise +Conv +16x64 +4 .* factorized ' "$work/conv.txt" || fail "conv report: $(cat "$work/conv.txt")"
  grep -qE '^spatial +Conv .* kept +kernel 3x3 is not 1x1$' "$work/conv.txt" || fail "conv report: $(cat "$work/conv.txt")"
  same_outputs "$work/conv.onnx" "$work/conv.lr.onnx" "$work/conv_x.npy" 4 || fail "ORT on the compressed conv model"
else
  fail "lowp compress conv.onnx"
fi

# 4. Fine-tuning the factorized model (Gemm -> Gemm chains, MatMul -> MatMul -> Add):
#    lowp's runtime and ORT agree with the trained layers' predictions.
if [[ -f "$work/dense.lr.onnx" ]]; then
  if "$lowp" train --init "$work/dense.lr.onnx" --epochs 1 --batch 32 --limit-train 512 --limit-test 256 \
      --progress-every 1000 --out "$work/tuned.onnx" --predictions "$work/tuned.npy" --json >"$work/tuned.json" 2>"$work/tuned.log"; then
    grep -q '"runtime_agreement": 256' "$work/tuned.json" || fail "fine-tuned: lowp's runtime disagrees: $(cat "$work/tuned.json")"
    grep -q '"parameters": 23770' "$work/tuned.json" || fail "fine-tuned: not the factorized parameters: $(grep parameters "$work/tuned.json")"
    "$py" "$repo/scripts/check_train_ort.py" "$work/tuned.onnx" "$work/tuned.npy" --flat || fail "fine-tuned: ORT disagrees"
  else
    fail "lowp train --init dense.lr.onnx: $(cat "$work/tuned.log")"
  fi
fi

# 5. Bad input: one error line naming the problem, no output written.
expect_error() {
  local what=$1 phrase=$2
  shift 3
  rm -f "$work/out.onnx"
  timeout 60 "$@" >/dev/null 2>"$work/err"
  local status=$?
  if [[ $status -eq 0 || $status -ge 124 ]]; then fail "$what: exit status $status"; return; fi
  if [[ $(grep -c . "$work/err") -ne 1 ]] || ! grep -q '^lowp: error: ' "$work/err" || ! grep -qF -- "$phrase" "$work/err"; then
    fail "$what: expected one 'lowp: error:' line with '$phrase', got: $(cat "$work/err")"
  fi
  [[ -e "$work/out.onnx" ]] && fail "$what: wrote an output"
}
d="$work/dense.onnx"
expect_error "energy 0" "low-rank spec 'energy=0': energy 0 must be in (0, 1]" -- "$lowp" compress "$d" -o "$work/out.onnx" --lowrank energy=0
expect_error "energy 1.5" "low-rank spec 'energy=1.5': energy 1.5 must be in (0, 1]" -- "$lowp" compress "$d" -o "$work/out.onnx" --lowrank energy=1.5
expect_error "rank 0" "low-rank spec 'rank=0': rank 0 must be at least 1" -- "$lowp" compress "$d" -o "$work/out.onnx" --lowrank rank=0
expect_error "rank x" "low-rank spec 'rank=x': rank 'x' is not a whole number" -- "$lowp" compress "$d" -o "$work/out.onnx" --lowrank rank=x
expect_error "malformed spec" "low-rank spec '0.9' is not energy=E (0 < E <= 1) or rank=R (R >= 1)" -- "$lowp" compress "$d" -o "$work/out.onnx" --lowrank 0.9
expect_error "unknown key" "low-rank spec 'svd=3': 'svd' is not energy or rank" -- "$lowp" compress "$d" -o "$work/out.onnx" --lowrank svd=3
expect_error "no --lowrank" "--lowrank is required" -- "$lowp" compress "$d" -o "$work/out.onnx"
expect_error "unknown exclude" "--exclude names node 'fc9', which the model does not have" -- "$lowp" compress "$d" -o "$work/out.onnx" --lowrank rank=8 --exclude fc1,fc9
expect_error "NaN weights" "node 'fc2': weight 'w2' holds nan at flat index 1541; low-rank factorization needs finite weights" -- "$lowp" compress "$work/nan.onnx" -o "$work/out.onnx" --lowrank rank=8 --min-speedup 0
expect_error "min speed-up" "--min-speedup 0.5 must be 0 (no timing) or at least 1" -- "$lowp" compress "$d" -o "$work/out.onnx" --lowrank rank=8 --min-speedup 0.5
expect_error "missing model" "nosuch.onnx" -- "$lowp" compress "$work/nosuch.onnx" -o "$work/out.onnx" --lowrank rank=8
cp "$d" "$work/same.onnx"
expect_error "output is input" "is the input model" -- "$lowp" compress "$work/same.onnx" -o "$work/same.onnx" --lowrank rank=8
cmp -s "$d" "$work/same.onnx" || fail "the input was changed"
expect_error "--init and --model" "excludes" -- "$lowp" train --init "$d" --model mlp --out "$work/out.onnx"
expect_error "--init not onnx" "--init 'model.pt' is not a .onnx file" -- "$lowp" train --init model.pt --out "$work/out.onnx"

if ((failures > 0)); then
  echo "compress.sh: $failures failure(s)"
  exit 1
fi
echo "compress.sh: all passed"
