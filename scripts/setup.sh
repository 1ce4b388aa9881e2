#!/usr/bin/env bash
# scripts/setup.sh: the one set-up of lowp, called by `make demo`, `make test` and CI.
# Idempotent: when every package is present it only runs `dpkg -s` and returns at once.
#   scripts/setup.sh          packages to build, test and run the demo
#   scripts/setup.sh --bench  also the benchmark peers (PyTorch, OpenBLAS through numpy, oneDNN)
set -euo pipefail

packages=(
  g++ cmake ninja-build make
  libeigen3-dev libfmt-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
  libgtest-dev libbenchmark-dev
  dataset-fashion-mnist
)
if [[ "${1:-}" == "--bench" ]]; then
  # oneDNN's CMake config requires OpenCL's headers (Debian builds it with the OpenCL GPU
  # runtime): ocl-icd-opencl-dev. threadpoolctl reports which BLAS kernel numpy and torch run.
  packages+=(python3-torch python3-numpy libopenblas-dev python3-threadpoolctl
             libdnnl-dev ocl-icd-opencl-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
