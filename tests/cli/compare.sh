#!/usr/bin/env bash
# tests/cli/compare.sh LOWP: `lowp compare` and `lowp inspect --precision` on a small CNN
# made here with onnx.helper (Conv/Relu/MaxPool/Conv/Relu/Flatten/Gemm, seeded weights):
# quantized with `lowp quantize`, compared (every layer matched, outputs unchanged by the
# observation); then one weight scale of the QDQ model is corrupted with python onnx and
# compare must rank that layer first. A model from ONNX Runtime's quantize_static is
# compared too. Bad inputs give one error. Needs the repository's .venv (skips without).
set -u
lowp=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# The set-up's virtualenv has onnx (Debian's python3 does not) and onnxruntime.
py=$root/.venv/bin/python
if ! [[ -x $py ]] || ! $py -c "import onnx.helper, numpy" 2>/dev/null; then
  echo "SKIP: $py with onnx and numpy is missing (scripts/setup.sh creates it)"
  exit 0
fi

$py - "$work" <<'EOF' || { echo "FAIL: could not build the test model"; exit 1; }
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
work = sys.argv[1]
rng = np.random.default_rng(5)
def init(name, shape, scale):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)
inits = [init("w1", (8, 1, 3, 3), 0.4), init("b1", (8,), 0.1), init("w2", (16, 8, 3, 3), 0.15),
         init("b2", (16,), 0.1), init("w3", (10, 16 * 6 * 6), 0.05), init("b3", (10,), 0.1)]
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1_out"], name="c1", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1_out"], ["r1_out"], name="r1"),
    helper.make_node("MaxPool", ["r1_out"], ["p1_out"], name="p1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1_out", "w2", "b2"], ["c2_out"], name="c2", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c2_out"], ["r2_out"], name="r2"),
    helper.make_node("Flatten", ["r2_out"], ["f_out"], name="f"),
    helper.make_node("Gemm", ["f_out", "w3", "b3"], ["logits"], name="fc", transB=1),
]
def model(input_name):
    ns = [onnx.NodeProto() for _ in nodes]
    for n, m in zip(ns, nodes):
        m2 = onnx.NodeProto(); m2.CopyFrom(m)
        n.CopyFrom(m2)
        for i, v in enumerate(n.input):
            if v == "x": n.input[i] = input_name
    g = helper.make_graph(ns, "cnn",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", 1, 12, 12])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    return m
onnx.save(model("x"), f"{work}/cnn.onnx")
onnx.save(model("y"), f"{work}/other_input.onnx")
np.save(f"{work}/calib.npy", rng.random((64, 1, 12, 12), dtype=np.float32))
np.save(f"{work}/test.npy", rng.random((40, 1, 12, 12), dtype=np.float32))
np.save(f"{work}/wrong_shape.npy", rng.random((4, 1, 10, 10), dtype=np.float32))
EOF

# --min-conv-depth 0: the 1-channel stem in int8 too, so every layer has a u8 form here.
"$lowp" quantize "$work/cnn.onnx" -o "$work/q.onnx" --precision int8 --calib "$work/calib.npy" --min-conv-depth 0 \
  >/dev/null 2>"$work/err" || fail "quantize: $(cat "$work/err")"

# check_json FILE PYTHON-EXPRESSIONS: each line an assertion on j (the parsed JSON).
check_json() {
  $py - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
rows = {l["node"]: l for l in j["layers"]}
def sq(v): return float(v) if not isinstance(v, str) else (float("inf") if v == "inf" else float("-inf"))
ok = True
for line in sys.argv[2].strip().splitlines():
    if not eval(line.strip()):
        print("FAIL: " + line.strip() + "\n" + json.dumps(j, indent=1)[:3000]); ok = False
sys.exit(0 if ok else 1)
EOF
}

# The quantized model as lowp runs it: every layer matched, in its u8 form, good SQNR.
if "$lowp" compare "$work/cnn.onnx" "$work/q.onnx" --input "x=$work/test.npy" --json --batch 16 \
    >"$work/good.json" 2>"$work/err"; then
  check_json "$work/good.json" '
    j["samples"] == 40 and j["runs"] == 3
    set(rows) >= {"c1", "p1", "c2", "fc"}
    rows["c1"]["nodes"] == ["c1", "r1"] and rows["c1"]["observed_as"].startswith("uint8 scale=")
    rows["c2"]["tensor"] == "r2_out" and rows["fc"]["tensor"] == "logits"
    all(sq(l["metrics"]["sqnr_db"]) > 20 for l in j["layers"])
    all(0.99 < l["metrics"]["cosine"] <= 1 for l in j["layers"])
    j["outputs"][0]["name"] == "logits" and j["outputs"][0]["top1_agreement"] >= 0.9
    j["observation_change"]["quantized"] == 0 and j["observation_change"]["reference"] < 1e-5
  ' || fail "compare of the lowp-quantized model"
else
  fail "compare: $(cat "$work/err")"
fi
# Text output and the JSON file written beside it.
"$lowp" compare "$work/cnn.onnx" "$work/q.onnx" --input "$work/test.npy" -o "$work/full.json" >"$work/out" 2>"$work/err" \
  || fail "compare (text): $(cat "$work/err")"
grep -q "top-1 agreement" "$work/out" || fail "no top-1 line in: $(cat "$work/out")"
grep -q "quantized unchanged (bit-identical)" "$work/out" || fail "no observation check in: $(cat "$work/out")"
[[ -s $work/full.json ]] || fail "-o wrote no JSON"

# One layer broken: c2's weight scale multiplied by 3 in the QDQ model.
$py - "$work" <<'EOF' || fail "could not corrupt the model"
import sys, numpy as np, onnx
from onnx import numpy_helper
work = sys.argv[1]
m = onnx.load(f"{work}/q.onnx")
producer = {o: n for n in m.graph.node for o in n.output}
conv = next(n for n in m.graph.node if n.name == "c2")
dq = producer[conv.input[1]]
assert dq.op_type == "DequantizeLinear"
init = next(i for i in m.graph.initializer if i.name == dq.input[1])
init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(3), init.name))
onnx.save(m, f"{work}/broken.onnx")
EOF
if "$lowp" compare "$work/cnn.onnx" "$work/broken.onnx" --input "x=$work/test.npy" --json >"$work/broken.json" 2>"$work/err"; then
  check_json "$work/broken.json" '
    j["layers"][0]["node"] == "c2"
    sq(j["layers"][0]["added_noise_db"]) < 10 and sq(rows["c1"]["added_noise_db"]) > 20
  ' || fail "the broken layer c2 is not ranked first"
else
  fail "compare broken: $(cat "$work/err")"
fi
"$lowp" compare "$work/cnn.onnx" "$work/broken.onnx" --input "x=$work/test.npy" >"$work/out" 2>&1
grep -E -q "^ +1  c2 " "$work/out" || fail "text output does not rank c2 first: $(cat "$work/out")"

# ONNX Runtime's own QDQ model (quantize_static), when the set-up's virtualenv is there.
ort=$py
if $ort -c "import onnxruntime.quantization" 2>/dev/null; then
  $ort - "$work" <<'EOF' || fail "ORT quantize_static"
import sys, numpy as np
from onnxruntime.quantization import quantize_static, CalibrationDataReader, QuantFormat
work = sys.argv[1]
calib = np.load(f"{work}/calib.npy")
class Reader(CalibrationDataReader):
    def __init__(self): self.rows = iter(calib[i:i + 1] for i in range(len(calib)))
    def get_next(self):
        r = next(self.rows, None)
        return None if r is None else {"x": r}
quantize_static(f"{work}/cnn.onnx", f"{work}/ort_q.onnx", Reader(), quant_format=QuantFormat.QDQ)
EOF
  if "$lowp" compare "$work/cnn.onnx" "$work/ort_q.onnx" --input "x=$work/test.npy" --json >"$work/ort.json" 2>"$work/err"; then
    check_json "$work/ort.json" '
      {"c1", "c2", "fc"} <= set(rows)
      all(sq(l["metrics"]["sqnr_db"]) > 15 for l in j["layers"])
      j["observation_change"]["quantized"] == 0
    ' || fail "compare of ORT's QDQ model"
  else
    fail "compare ORT model: $(cat "$work/err")"
  fi
else
  echo "note: no $ort with onnxruntime; the quantize_static comparison is skipped"
fi

# Bad input: one "lowp: error:" line each, non-zero exit.
expect_error() {
  local what=$1 phrase=$2
  shift 2
  if "$@" >"$work/out" 2>"$work/err"; then
    fail "$what: succeeded"
  elif ! grep -q "lowp: error: .*$phrase" "$work/err" || [[ $(wc -l <"$work/err") -ne 1 ]]; then
    fail "$what: expected one error with '$phrase', got: $(cat "$work/err")"
  fi
}
expect_error "no input" "give the inputs" "$lowp" compare "$work/cnn.onnx" "$work/q.onnx"
expect_error "unknown input" "has no input 'z'" "$lowp" compare "$work/cnn.onnx" "$work/q.onnx" --input "z=$work/test.npy"
expect_error "extra input" "has no input 'y'" "$lowp" compare "$work/cnn.onnx" "$work/q.onnx" \
  --input "x=$work/test.npy" --input "y=$work/test.npy"
expect_error "shape" "the file gives \[4, 1, 10, 10\]" "$lowp" compare "$work/cnn.onnx" "$work/q.onnx" \
  --input "x=$work/wrong_shape.npy"
expect_error "other inputs" "different inputs" "$lowp" compare "$work/cnn.onnx" "$work/other_input.onnx" \
  --input "x=$work/test.npy"

# inspect --precision: the plan for each precision, with its prediction.
if "$lowp" inspect "$work/cnn.onnx" --precision int8 >"$work/out" 2>"$work/err"; then
  grep -q "3 of 3 Conv / Gemm / MatMul nodes would run in int8 kernels" "$work/out" || fail "int8 plan: $(cat "$work/out")"
  grep -q "1 QuantizeLinear, 0 DequantizeLinear" "$work/out" || fail "int8 conversions: $(cat "$work/out")"
  grep -E -q "^c2 +Conv +3x3/1 8->16 @6x6 n1 " "$work/out" || fail "c2 row: $(cat "$work/out")"
  grep -q "predicted latency of these nodes: fp32 .* int8 .* ratio" "$work/out" || fail "no total: $(cat "$work/out")"
  grep -q "this is a prediction from timing lowp's kernels" "$work/out" || fail "no caveat: $(cat "$work/out")"
else
  fail "inspect --precision int8: $(cat "$work/err")"
fi
"$lowp" inspect "$work/cnn.onnx" --precision int8-dynamic --dim N=4 >"$work/out" 2>&1 || fail "int8-dynamic: $(cat "$work/out")"
grep -q "1 of 3 Conv / Gemm / MatMul" "$work/out" || fail "int8-dynamic plan: $(cat "$work/out")"
grep -E -q "^fc +Gemm +4x10x576 " "$work/out" || fail "--dim N=4 not applied: $(cat "$work/out")"
for p in fp16 bf16 int4; do
  "$lowp" inspect "$work/cnn.onnx" --precision $p >"$work/out" 2>&1 || fail "inspect --precision $p: $(cat "$work/out")"
  grep -q "predicted latency" "$work/out" || fail "$p plan: $(cat "$work/out")"
done
expect_error "unknown precision" "is not one of" "$lowp" inspect "$work/cnn.onnx" --precision int3

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "compare.sh: all checks passed"
