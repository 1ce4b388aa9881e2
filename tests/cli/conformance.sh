#!/usr/bin/env bash
# tests/cli/conformance.sh LOWP: the ONNX backend tests of Debian's libonnx-testdata through
# `lowp conformance`. Fails when a test fails that conformance_expected_failures.txt does
# not list, or when a listed test no longer fails; skipped (77) without the test data.
set -u
lowp=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data=${LOWP_CONFORMANCE_DATA:-/usr/share/libonnx-testdata/data}
if [[ ! -d $data/node ]]; then
  echo "SKIPPED: $data not found (apt install libonnx-testdata)"
  exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s%N)
timeout 600 "$lowp" conformance --data "$data" --verbose \
  --expect-failed "$here/conformance_expected_failures.txt" >"$out" 2>&1
status=$?
end=$(date +%s%N)
grep -E '^(FAILED|unexpected failure|listed as failing)' "$out"
last=$(tail -n 1 "$out")
echo "$last ($(( (end - start) / 1000000 )) ms)"
if ! [[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed,\ [0-9]+\ unsupported$ ]]; then
  echo "FAIL: the last line is not 'N passed, M failed, K unsupported':"; tail -n 5 "$out"
  exit 1
fi
exit $status
