#!/usr/bin/env bash
# tests/models/cli_models.sh LOWP MODELS_DIR: the model subcommands on good and bad input:
# lowp run / inspect / bench / optimize, each bad input one "lowp: error:" line naming the
# problem and a non-zero exit, nothing written.
set -uo pipefail
lowp="$1"
models="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error "description" "text the message must contain" command...
expect_error() {
  local what="$1" text="$2"
  shift 2
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -eq 0 ]]; then fail "$what: exit 0"; return; fi
  if [[ "$out" != *"lowp: error:"* || "$out" != *"$text"* ]]; then fail "$what: got '$out', wanted '$text'"; return; fi
  if [[ $(grep -c "lowp: error:" <<<"$out") -ne 1 ]]; then fail "$what: not exactly one error line: $out"; fi
}

sn="$models/simplenet_opset17.onnx"
x="$models/simplenet.input_input.npy"

# Good runs.
"$lowp" run "$sn" --input "input=$x" --output-dir "$tmp/out" >/dev/null || fail "run simplenet"
[[ -f "$tmp/out/output.npy" ]] || fail "run wrote no output.npy"
"$lowp" inspect "$sn" | grep -q "FusedGemm" || fail "inspect lists no FusedGemm kernel"
"$lowp" bench "$sn" --min-time 0.05 --json | grep -q '"latency_us_median"' || fail "bench --json"
"$lowp" optimize "$sn" -o "$tmp/opt.onnx" >/dev/null || fail "optimize"
"$lowp" run "$tmp/opt.onnx" --input "input=$x" --output-dir "$tmp/out2" >/dev/null || fail "run optimized"
cmp -s "$tmp/out/output.npy" "$tmp/out2/output.npy" || fail "optimized model gives other outputs"

# Bad input.
expect_error "unknown input name" "no input 'nope'" "$lowp" run "$sn" --input "nope=$x"
expect_error "missing .npy" "missing.npy" "$lowp" run "$sn" --input "input=$tmp/missing.npy"
/usr/bin/python3 -c "import numpy as np; np.save('$tmp/wrong_shape.npy', np.zeros((1, 99), np.float32)); np.save('$tmp/wrong_type.npy', np.zeros((1, 100), np.int32))"
expect_error "wrong shape" "input 'input' must have shape" "$lowp" run "$sn" --input "input=$tmp/wrong_shape.npy"
expect_error "wrong dtype" "input 'input' must be" "$lowp" run "$sn" --input "input=$tmp/wrong_type.npy"
expect_error "memory budget" "memory budget" "$lowp" run "$models/resnet18_opset17.onnx" \
  --input "input=$models/resnet18.input_input.npy" --max-memory 1
: >"$tmp/empty.onnx"
expect_error "empty model" "empty.onnx" "$lowp" run "$tmp/empty.onnx" --input "input=$x"
head -c 3000 "$sn" >"$tmp/truncated.onnx"
expect_error "truncated model" "truncated.onnx" "$lowp" inspect "$tmp/truncated.onnx"
head -c 5000 /dev/urandom >"$tmp/random.onnx"
expect_error "random bytes" "random.onnx" "$lowp" inspect "$tmp/random.onnx"
expect_error "a folder" "not a readable file" "$lowp" inspect "$tmp/out/../out.onnx"
[[ ! -e "$tmp/out3" ]] || fail "setup"
expect_error "output dir not written on error" "no input" "$lowp" run "$sn" --input "bad=$x" --output-dir "$tmp/out3"
[[ ! -e "$tmp/out3" ]] || fail "an output folder was created by a failing run"

echo "$failures failures"
exit $((failures > 0))
