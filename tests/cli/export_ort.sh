#!/usr/bin/env bash
# tests/cli/export_ort.sh LOWP: ONNX Runtime loads and runs what `lowp optimize` writes and
# gets the same results (scripts/check_export_ort.py: an element-wise model with external
# data, and the exported models of build/models when they are there). Skipped (exit 77)
# without the virtualenv of scripts/setup.sh; LOWP_PYTHON names another Python.
set -u
lowp=$1
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python=${LOWP_PYTHON:-$repo/.venv/bin/python}
if ! "$python" -c 'import onnxruntime, onnx, numpy' >/dev/null 2>&1; then
  echo "SKIP: $python cannot import onnxruntime, onnx and numpy (run scripts/setup.sh)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" "$repo/scripts/check_export_ort.py" --lowp "$lowp" --work "$work" \
  --model-dir "${LOWP_MODEL_DIR:-$repo/build/models}"
