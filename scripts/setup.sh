#!/usr/bin/env bash
# scripts/setup.sh: the one set-up of lowp, called by `make demo`, `make test` and CI.
# Idempotent: when every package is present it only runs `dpkg -s` and one Python import,
# and returns at once.
#   scripts/setup.sh          packages to build, test and run the demo, and the virtualenv
#   scripts/setup.sh --bench  also the benchmark peers (OpenBLAS through numpy, oneDNN)
#
# Two Pythons, on purpose:
#   /usr/bin/python3  Debian's, which alone sees python3-torch / python3-torchvision
#                     (scripts/export_models.py, the bench/*torch*.py peers);
#   .venv/bin/python  a virtualenv made from it with onnxruntime and onnx from PyPI
#                     (scripts/ort_reference.py, bench/ort_bench.py), which Debian 12 does
#                     not package.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  g++ cmake ninja-build make
  libeigen3-dev libfmt-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
  libgtest-dev libbenchmark-dev
  dataset-fashion-mnist
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata clang
  # The ONNX model tests export their models with PyTorch and check against ONNX Runtime.
  python3-torch python3-torchvision python3-numpy python3-venv
)
if [[ "${1:-}" == "--bench" ]]; then
  # oneDNN's CMake config requires OpenCL's headers (Debian builds it with the OpenCL GPU
  # runtime): ocl-icd-opencl-dev. threadpoolctl reports which BLAS kernel numpy and torch run.
  packages+=(libopenblas-dev python3-threadpoolctl libdnnl-dev ocl-icd-opencl-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The virtualenv with ONNX Runtime (the reference for the ONNX tests and a benchmark peer).
# Made from Debian's Python, never from a pyenv one that may come first on PATH. Nothing is
# pinned: the tests compare against whatever ONNX Runtime computes, within tolerances.
venv="$repo/.venv"
if ! "$venv/bin/python" -c 'import onnxruntime, onnx, numpy' >/dev/null 2>&1; then
  echo "setup: installing onnxruntime, onnx and numpy from PyPI into $venv"
  # A virtualenv whose interpreter is gone (e.g. made by another Python) is made again.
  if [[ -d "$venv" ]] && ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
  fi
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check onnxruntime onnx numpy ||
    { echo "setup: pip could not install onnxruntime, onnx and numpy into $venv (is PyPI reachable?)" >&2; exit 1; }
  "$venv/bin/python" -c 'import onnxruntime, onnx, numpy
print(f"setup: onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}, numpy {numpy.__version__}")'
fi
