#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: builds the ONNX loader's fuzz target with clang, ASan and
# UBSan (build/fuzz), seeds a corpus with ONNX's conformance models and fuzzes for a
# bounded time (default 60 s). A crash, leak or sanitizer report fails the run and leaves
# the input in build/fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
build=build/fuzz
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ is missing (scripts/setup.sh installs clang)" >&2
  exit 1
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DLOWP_FUZZ=ON -DLOWP_SANITIZE=ON -DLOWP_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target import_fuzz >/dev/null
corpus="$build/corpus"
mkdir -p "$corpus" "$build/artifacts"
data=/usr/share/libonnx-testdata/data
if [[ -d "$data" && -z "$(ls -A "$corpus")" ]]; then
  i=0
  for m in "$data"/*/*/model.onnx; do
    cp "$m" "$corpus/seed_$((i++)).onnx"
  done
fi
# Leave time for the last input to finish within the ctest timeout.
"$build/tests/fuzz/import_fuzz" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=1048576 -artifact_prefix="$build/artifacts/" -print_final_stats=1 2>&1 | tail -n 15
