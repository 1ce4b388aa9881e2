#!/usr/bin/env bash
# tests/cli/optimize.sh LOWP: `lowp optimize` writes a model lowp loads again, reports node
# counts, keeps weights inside with --no-external-data, and refuses bad input and output
# paths with one "lowp: error:" line, leaving an existing output untouched.
set -u
lowp=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

model=/usr/share/libonnx-testdata/data/node/test_relu/model.onnx
if [[ ! -f $model ]]; then
  echo "SKIP: $model missing (libonnx-testdata)"
  exit 0
fi

# A good run: counts before and after, a file that loads again, no external data for a
# model this small.
if ! "$lowp" optimize "$model" -o "$work/relu.opt.onnx" >"$work/out" 2>"$work/err"; then
  fail "optimize test_relu: $(cat "$work/err")"
fi
grep -q "1 nodes (Relu 1)" "$work/out" || fail "no node counts in: $(cat "$work/out")"
[[ -f $work/relu.opt.onnx && ! -e $work/relu.opt.onnx.data ]] || fail "expected relu.opt.onnx alone"
"$lowp" inspect "$work/relu.opt.onnx" >/dev/null 2>"$work/err" || fail "the output does not load: $(cat "$work/err")"
"$lowp" optimize "$model" -o "$work/relu2.onnx" --no-external-data >/dev/null 2>&1 || fail "--no-external-data"
cmp -s "$work/relu.opt.onnx" "$work/relu2.onnx" || fail "the same model written twice differs"
ls -a "$work" | grep -q '\.tmp\.' && fail "a temporary file was left: $(ls -a "$work")"

# expect_error DESCRIPTION PHRASE -- COMMAND...
expect_error() {
  local what=$1 phrase=$2
  shift 3
  timeout 60 "$@" >"$work/out" 2>"$work/err"
  local status=$?
  if [[ $status -eq 0 || $status -ge 124 ]]; then fail "$what: exit status $status"; return; fi
  if [[ $(grep -c . "$work/err") -ne 1 ]] || ! grep -q '^lowp: error: ' "$work/err"; then
    fail "$what: expected one 'lowp: error:' line, got: $(cat "$work/err")"; return
  fi
  grep -qF -- "$phrase" "$work/err" || fail "$what: message lacks '$phrase': $(cat "$work/err")"
}
expect_error "missing input" "no-such.onnx" -- "$lowp" optimize "$work/no-such.onnx" -o "$work/x.onnx"
expect_error "missing -o" "--output" -- "$lowp" optimize "$model"
mkdir "$work/dir.onnx"
expect_error "output is a directory" "dir.onnx" -- "$lowp" optimize "$model" -o "$work/dir.onnx"
expect_error "output folder missing" "no-such-dir" -- "$lowp" optimize "$model" -o "$work/no-such-dir/x.onnx"
printf 'not a model' >"$work/bad.onnx"
printf 'keep' >"$work/keep.onnx"
expect_error "corrupt input" "bad.onnx" -- "$lowp" optimize "$work/bad.onnx" -o "$work/keep.onnx"
[[ $(cat "$work/keep.onnx") == keep ]] || fail "a failed run changed the existing output"

echo "$failures failures"
[[ $failures -eq 0 ]]
