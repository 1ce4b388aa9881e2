#!/usr/bin/env bash
# tests/cli/bad_input.sh LOWP: every kind of bad input the CLI meets gives exactly one
# "lowp: error: ..." line on stderr naming the problem, a non-zero exit below 128 (not a
# signal: no crash), and no hang (each call runs under a 60 s timeout).
set -u
lowp=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passed=0

# expect_error DESCRIPTION PHRASE -- COMMAND...
expect_error() {
  local what=$1 phrase=$2
  shift 3
  local status
  timeout 60 "$@" >"$work/out" 2>"$work/err"
  status=$?
  local lines
  lines=$(grep -c . "$work/err")
  if [[ $status -eq 0 || $status -ge 124 ]]; then
    echo "FAIL: $what: exit status $status"; failures=$((failures + 1)); return
  fi
  if [[ $lines -ne 1 ]] || ! grep -q '^lowp: error: ' "$work/err"; then
    echo "FAIL: $what: expected one 'lowp: error:' line, got:"; cat "$work/err"
    failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$phrase" "$work/err"; then
    echo "FAIL: $what: message lacks '$phrase':"; cat "$work/err"
    failures=$((failures + 1)); return
  fi
  passed=$((passed + 1))
}

data=/usr/share/datasets/fashion-mnist
expect_error "unknown subcommand" "unknown subcommand 'frobnicate'" -- "$lowp" frobnicate
expect_error "unknown flag" "--frobnicate" -- "$lowp" demo --frobnicate
expect_error "unknown precision" "unknown precision 'fp64'" -- "$lowp" demo --precision fp32,fp64
expect_error "bad epochs" "--epochs" -- "$lowp" demo --epochs -3
expect_error "bad threads" "--threads" -- "$lowp" demo --threads 0
expect_error "bench conv dtype" "--dtype must be fp32, bf16 or int8" -- "$lowp" bench conv --dtype fp8
expect_error "missing dataset" "dataset-fashion-mnist" -- "$lowp" demo --data "$work/no-such-dir"
LOWP_FASHION_MNIST_DIR="$work/nowhere" expect_error "missing dataset (env)" "dataset-fashion-mnist" -- "$lowp" demo
expect_error "LOWP_ISA unknown" "LOWP_ISA=avx9000" -- env LOWP_ISA=avx9000 "$lowp" inspect --cpu

if [[ -d $data ]]; then
  mkdir -p "$work/truncated" "$work/corrupt" "$work/notgzip"
  cp "$data"/*.gz "$work/truncated/"
  head -c 100000 "$data/train-images-idx3-ubyte.gz" >"$work/truncated/train-images-idx3-ubyte.gz"
  expect_error "truncated IDX" "train-images-idx3-ubyte.gz" -- "$lowp" demo --data "$work/truncated"
  cp "$data"/*.gz "$work/corrupt/"
  # A valid gzip stream whose IDX magic is wrong.
  printf '\x00\x00\x08\x09\x00\x00\x00\x01' | gzip -c >"$work/corrupt/t10k-labels-idx1-ubyte.gz"
  expect_error "corrupt IDX magic" "magic" -- "$lowp" demo --data "$work/corrupt"
  cp "$data"/*.gz "$work/notgzip/"
  head -c 5000 /dev/urandom >"$work/notgzip/train-labels-idx1-ubyte.gz"
  expect_error "random bytes as IDX" "train-labels-idx1-ubyte.gz" -- "$lowp" demo --data "$work/notgzip"
else
  echo "NOTE: $data missing; IDX corruption cases not run"
fi

printf 'garbage that is not numpy' >"$work/bad.npy"
expect_error "malformed npy" "bad.npy" -- "$lowp" inspect "$work/bad.npy"
printf '\x93NUMPY\x01\x00\x20\x00{"descr": "<f4", "shape": (3,)}  \n' >"$work/short.npy"
expect_error "npy header past end" "short.npy" -- "$lowp" inspect "$work/short.npy"
header="{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"
header="$header$(printf '%*s' $((63 - ${#header})) '')"  # pad to 64 with the newline
{ printf "\x93NUMPY\x01\x00$(printf '\\x%02x' $((${#header} + 1)))\x00"; printf '%s\n' "$header"
  printf '\0\0\0\0\0\0\0\0'; } >"$work/complex.npy"
expect_error "npy unsupported dtype" "<c8" -- "$lowp" inspect "$work/complex.npy"
expect_error "missing npy" "missing.npy" -- "$lowp" inspect "$work/missing.npy"

echo "$passed passed, $failures failed"
[[ $failures -eq 0 ]]
