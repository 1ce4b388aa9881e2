#!/usr/bin/env bash
# tests/cli/train.sh LOWP: `lowp train` end to end on small Fashion-MNIST subsets (a few
# seconds in all): each built-in model trains, exports ONNX that ONNX Runtime (the set-up's
# .venv) runs to the same predictions (scripts/check_train_ort.py); a run stopped and
# resumed writes the same model bytes as one that never stopped; bad input gives one
# "lowp: error:" line naming the problem.
set -u
lowp=$1
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py="$repo/.venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

small=(--limit-train 512 --limit-test 256 --progress-every 1000)

# 1. Each model trains, exports, and ORT agrees with lowp's predictions.
for model in cnn mlp simplenet; do
  flat=()
  [[ $model != cnn ]] && flat=(--flat)
  if ! "$lowp" train --model $model --epochs 1 --batch 32 "${small[@]}" --out "$work/$model.onnx" \
      --predictions "$work/$model.npy" --json >"$work/$model.json" 2>"$work/$model.log"; then
    fail "$model: lowp train failed:"; cat "$work/$model.log"; continue
  fi
  grep -q '"runtime_agreement": 256' "$work/$model.json" || fail "$model: lowp's runtime disagrees: $(cat "$work/$model.json")"
  "$py" "$repo/scripts/check_train_ort.py" "$work/$model.onnx" "$work/$model.npy" "${flat[@]}" || fail "$model: ORT disagrees"
done

# lowp bench --batch binds the exported model's leading dim (named N, not "batch").
"$lowp" bench "$work/cnn.onnx" --batch 3 --min-time 0.05 --json >"$work/bench.json" 2>/dev/null || fail "lowp bench cnn.onnx failed"
"$py" -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["batch"] == 3 else 1)' "$work/bench.json" \
  || fail "lowp bench --batch 3 ran another batch: $(cat "$work/bench.json")"

# An exported model trains again from its weights (--model FILE.onnx): its first epoch's
# training accuracy is above 0.6 (about 0.72; the same epoch from scratch reaches ~0.49).
if "$lowp" train --model "$work/cnn.onnx" --epochs 1 --batch 32 "${small[@]}" --out "$work/cnn_again.onnx" --json >"$work/again.json" 2>/dev/null; then
  "$py" -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if r["epochs"][0]["train_accuracy"] > 0.6 else 1)' "$work/again.json" \
    || fail "fine-tuning from cnn.onnx did not start from its weights: $(cat "$work/again.json")"
else
  fail "lowp train --model cnn.onnx failed"
fi

# fp16 trains too, and reports its loss scaling.
"$lowp" train --model cnn --precision fp16 --epochs 1 --batch 32 "${small[@]}" --out "$work/fp16.onnx" >"$work/fp16.log" || fail "fp16 run: $(cat "$work/fp16.log")"
grep -q "^fp16: .* steps skipped for overflows; final loss scale" "$work/fp16.log" || fail "fp16 report missing: $(cat "$work/fp16.log")"

# bf16 mixed precision trains the CNN (bf16 kernels and storage, fp32 master weights); the
# exported fp32 model runs in ORT with lowp's predictions, and its test accuracy is not
# far from the fp32 run's on the same steps (the same seed: ~0.69 for both).
if "$lowp" train --model cnn --precision bf16 --epochs 1 --batch 32 "${small[@]}" --out "$work/bf16.onnx" \
    --predictions "$work/bf16.npy" --json >"$work/bf16.json" 2>"$work/bf16.log"; then
  "$py" "$repo/scripts/check_train_ort.py" "$work/bf16.onnx" "$work/bf16.npy" || fail "bf16: ORT disagrees"
  "$py" -c 'import json, sys
a, b = (json.load(open(p))["test_accuracy"] for p in sys.argv[1:])
sys.exit(0 if abs(a - b) <= 0.05 else 1)' "$work/bf16.json" "$work/cnn.json" \
    || fail "bf16 accuracy far from fp32: $(cat "$work/bf16.json")"
else
  fail "bf16 run: $(cat "$work/bf16.log")"
fi

# 2. Stopped after step 12 of 2 x 8 (checkpoints every 5 steps: the last at step 10), then
#    resumed: the same model bytes as a straight run. SGD with momentum, dropout-free.
common=(--model mlp --epochs 2 --batch 64 "${small[@]}" --optimizer sgd --momentum 0.9 --lr 0.05 --schedule cosine --warmup 3)
#    Same file names in two folders: the model names its external data file.
mkdir -p "$work/straight" "$work/resumed"
"$lowp" train "${common[@]}" --out "$work/straight/m.onnx" >/dev/null || fail "straight run"
"$lowp" train "${common[@]}" --out "$work/resumed/m.onnx" --save-every 5steps --stop-after 12 >/dev/null || fail "stopped run"
[[ -f "$work/resumed/m.onnx" ]] && fail "a stopped run exported a model"
"$lowp" train "${common[@]}" --out "$work/resumed/m.onnx" --save-every 5steps --resume >"$work/resume.log" || fail "resumed run"
grep -qF "(global step 10)" "$work/resume.log" || fail "resume did not start at step 10: $(cat "$work/resume.log")"
for f in m.onnx m.onnx.data; do
  cmp -s "$work/straight/$f" "$work/resumed/$f" || fail "resumed $f differs from the straight run's"
done

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
expect_error "lr 0" "learning rate (--lr) 0 must be finite and greater than 0" -- "$lowp" train --lr 0 "${small[@]}" --out "$work/x.onnx"
expect_error "lr < 0" "learning rate (--lr) -0.1 must be" -- "$lowp" train --lr -0.1 "${small[@]}" --out "$work/x.onnx"
expect_error "unknown precision" "--precision 'fp8' is not fp32, bf16 or fp16" -- "$lowp" train --precision fp8 "${small[@]}" --out "$work/x.onnx"
expect_error "unknown model" "--model 'resnet' is not simplenet, mlp, cnn or a .onnx file" -- "$lowp" train --model resnet "${small[@]}" --out "$work/x.onnx"
"$py" - "$work" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import helper, TensorProto
work = sys.argv[1]
rng = np.random.default_rng(0)
def folder(name, x_train, y_train, x_test=None, y_test=None):
    d = os.path.join(work, name)
    os.makedirs(d)
    np.save(os.path.join(d, "train_x.npy"), x_train)
    np.save(os.path.join(d, "train_y.npy"), y_train)
    np.save(os.path.join(d, "test_x.npy"), x_train if x_test is None else x_test)
    np.save(os.path.join(d, "test_y.npy"), y_train if y_test is None else y_test)
x = rng.standard_normal((40, 6)).astype(np.float32)
y = rng.integers(0, 10, 40).astype(np.int64)
folder("good", x, y)
folder("label_range", x, np.where(np.arange(40) == 17, 12, y))
folder("counts", x, y[:39])
nan = x.copy(); nan[3, 2] = np.nan
folder("nan", x, y, nan, y)
# A model whose last op (Softmax) has no gradient in lowp's trainer.
w = helper.make_tensor("w", TensorProto.FLOAT, [6, 10], rng.standard_normal(60).astype(np.float32))
graph = helper.make_graph(
    [helper.make_node("Gemm", ["x", "w"], ["z"], name="dense"),
     helper.make_node("Softmax", ["z"], ["p"], name="probabilities")],
    "with_softmax", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
    [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["N", 10])], [w])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(work, "softmax.onnx"))
PY
expect_error "label out of range" "training set: label 12 of sample 17 is outside [0, 10)" -- "$lowp" train --model mlp --dataset "$work/label_range" --out "$work/x.onnx"
expect_error "sample counts" "40 samples but train_y.npy has 39 labels: the counts must match" -- "$lowp" train --model mlp --dataset "$work/counts" --out "$work/x.onnx"
expect_error "NaN in data" "test set: value 2 of sample 3 is nan (NaN or Inf in the data)" -- "$lowp" train --model mlp --dataset "$work/nan" --out "$work/x.onnx"
expect_error "op without gradient" "node 'probabilities' (op Softmax) has no gradient" -- "$lowp" train --model "$work/softmax.onnx" --dataset "$work/good" --out "$work/x.onnx"
# The good folder trains (a 6-feature MLP), so the errors above come from the data alone.
"$lowp" train --model mlp --dataset "$work/good" --out "$work/good.onnx" >/dev/null || fail "training on a good .npy folder"

if ((failures > 0)); then
  echo "train.sh: $failures failure(s)"
  exit 1
fi
echo "train.sh: all passed"
