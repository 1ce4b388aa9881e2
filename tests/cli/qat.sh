#!/usr/bin/env bash
# tests/cli/qat.sh LOWP: `lowp train --qat int8` end to end on small Fashion-MNIST subsets
# (a few seconds): a trained CNN fine-tuned with quantization-aware training exports a QDQ
# int8 model that lowp's runtime runs to the QAT model's predictions and ONNX Runtime to the
# same top-1 (scripts/check_train_ort.py --top1); the fp32 weights come out too; a QAT run
# stopped and resumed writes the same bytes as one that never stopped (the activation ranges
# are checkpointed); bad input gives one "lowp: error:" line naming the problem.
set -u
lowp=$1
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py="$repo/.venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

small=(--limit-train 512 --limit-test 256 --progress-every 1000)

# 1. fp32, then QAT from its weights.
"$lowp" train --model cnn --epochs 1 --batch 32 "${small[@]}" --out "$work/fp32.onnx" >"$work/fp32.log" 2>&1 \
  || fail "fp32 training: $(cat "$work/fp32.log")"
if "$lowp" train --model "$work/fp32.onnx" --qat int8 --epochs 1 --batch 32 --lr 1e-4 "${small[@]}" \
    --out "$work/qat.onnx" --fp32-out "$work/qat_fp32.onnx" --predictions "$work/qat.npy" --json \
    >"$work/qat.json" 2>"$work/qat.log"; then
  # Every test prediction of the exported int8 model in lowp's runtime is the QAT model's.
  grep -q '"runtime_agreement": 256' "$work/qat.json" || fail "lowp's runtime disagrees with the QAT model: $(cat "$work/qat.json")"
  grep -q '"qat": "int8"' "$work/qat.json" || fail "the report does not say int8 QAT: $(cat "$work/qat.json")"
  grep -q '^QAT int8: folded .* into .*; int8 layers .*; fp32 layers .*GEMM depth 9 < 16' "$work/qat.log" \
    || fail "the QAT plan is not reported: $(cat "$work/qat.log")"
  "$py" "$repo/scripts/check_train_ort.py" "$work/qat.onnx" "$work/qat.npy" --top1 || fail "ORT's top-1 differs on the QAT model"
  # The same form as lowp quantize's int8 model of the fp32 CNN: the same ops in the same
  # order, the same element types; the fp32 model has BatchNorm folded.
  "$py" - "$work" <<'PY' || fail "could not write calibration data"
import gzip, os, sys
import numpy as np
data = os.environ.get("LOWP_FASHION_MNIST_DIR") or "/usr/share/datasets/fashion-mnist"
with gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz"), "rb") as f:
    images = np.frombuffer(f.read()[16:16 + 64 * 784], dtype=np.uint8)
x = ((images.astype(np.float32) / np.float32(255) - np.float32(0.2860)) / np.float32(0.3530)).reshape(64, 1, 28, 28)
np.save(sys.argv[1] + "/calib.npy", x.astype(np.float32))
PY
  "$lowp" quantize "$work/fp32.onnx" -o "$work/ptq.onnx" --precision int8 --calib "$work/calib.npy" >/dev/null 2>&1 || fail "lowp quantize"
  "$py" - "$work/qat.onnx" "$work/ptq.onnx" "$work/qat_fp32.onnx" <<'PY' || fail "the exported models are not what --qat promises"
import sys
import onnx
def form(path):
    g = onnx.load(path).graph
    return [n.op_type for n in g.node], sorted((i.data_type, len(i.dims)) for i in g.initializer)
qat, ptq, fp32 = form(sys.argv[1]), form(sys.argv[2]), form(sys.argv[3])
assert qat == ptq, f"QAT {qat}\nPTQ {ptq}"
assert fp32[0] == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm"], fp32
PY
else
  fail "lowp train --qat int8 failed: $(cat "$work/qat.log")"
fi

# 2. Stopped at step 5 of 8 (checkpoints every 3 steps), resumed: the same int8 model bytes.
common=(--model "$work/fp32.onnx" --qat int8 --epochs 1 --batch 64 --lr 1e-4 "${small[@]}")
mkdir -p "$work/straight" "$work/resumed"
"$lowp" train "${common[@]}" --out "$work/straight/q.onnx" >/dev/null || fail "straight QAT run"
"$lowp" train "${common[@]}" --out "$work/resumed/q.onnx" --save-every 3steps --stop-after 5 >/dev/null || fail "stopped QAT run"
"$lowp" train "${common[@]}" --out "$work/resumed/q.onnx" --save-every 3steps --resume >"$work/resume.log" || fail "resumed QAT run"
grep -qF "(global step 3)" "$work/resume.log" || fail "resume did not start at step 3: $(cat "$work/resume.log")"
cmp -s "$work/straight/q.onnx" "$work/resumed/q.onnx" || fail "the resumed QAT model differs from the straight run's"

# 3. Bad input.
expect_error() {
  local what=$1 phrase=$2
  shift 3
  timeout 60 "$@" >/dev/null 2>"$work/err"
  local status=$?
  if [[ $status -eq 0 || $status -ge 124 ]]; then fail "$what: exit status $status"; return; fi
  if [[ $(grep -c . "$work/err") -ne 1 ]] || ! grep -q '^lowp: error: ' "$work/err" || ! grep -qF -- "$phrase" "$work/err"; then
    fail "$what: expected one 'lowp: error:' line with '$phrase', got: $(cat "$work/err")"
  fi
}
expect_error "int4" "--qat 'int4' is not a quantization-aware training precision: only int8 is" -- "$lowp" train --qat int4 "${small[@]}" --out "$work/x.onnx"
expect_error "with fp16" "--qat int8 fake-quantizes an fp32 training run; it cannot be combined with --precision fp16" -- "$lowp" train --qat int8 --precision fp16 "${small[@]}" --out "$work/x.onnx"
expect_error "with bf16" "it cannot be combined with --precision bf16" -- "$lowp" train --qat int8 --precision bf16 "${small[@]}" --out "$work/x.onnx"
expect_error "fp32-out alone" "--fp32-out writes the fp32 weights of a --qat run" -- "$lowp" train --fp32-out "$work/y.onnx" "${small[@]}" --out "$work/x.onnx"
expect_error "momentum 0" "the range momentum 0 must lie in (0, 1]" -- "$lowp" train --qat int8 --qat-momentum 0 "${small[@]}" --out "$work/x.onnx"
"$py" - "$work" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import helper, TensorProto
work = sys.argv[1]
rng = np.random.default_rng(0)
d = os.path.join(work, "data")
os.makedirs(d)
for split in ("train", "test"):
    np.save(os.path.join(d, f"{split}_x.npy"), rng.standard_normal((40, 10)).astype(np.float32))
    np.save(os.path.join(d, f"{split}_y.npy"), rng.integers(0, 10, 40).astype(np.int64))
# A model with no Conv or Gemm: nothing for int8 to quantize.
graph = helper.make_graph(
    [helper.make_node("Relu", ["x"], ["y"], name="relu")], "relu_only",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(work, "relu_only.onnx"))
PY
expect_error "nothing to quantize" "model 'relu_only' has nothing that int8 would quantize: it has no Conv or Linear layer" -- "$lowp" train --model "$work/relu_only.onnx" --dataset "$work/data" --qat int8 --out "$work/x.onnx"

if ((failures > 0)); then
  echo "qat.sh: $failures failure(s)"
  exit 1
fi
echo "qat.sh: all passed"
