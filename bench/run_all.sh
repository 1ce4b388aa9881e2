#!/usr/bin/env bash
# bench/run_all.sh: every benchmark of docs/BENCHMARKS.md, in one run. `make bench` calls it from
# the repository root after `make build` and `scripts/setup.sh --bench`.
#   1. lowp beside PyTorch (the peer) on SimpleNet: the file's simplenet section (this script,
#      bench/write_benchmarks.py);
#   2. bench/run_kernels.sh: the GEMM kernels against the measured roofline and their peers,
#      the kernels section and docs/roofline.svg;
#   3. bench/run_conv.sh: the convolution layers of ResNet-18 and MobileNetV2 against oneDNN and
#      PyTorch (NCHW and channels_last), the conv section.
# Each writes only its own marked section of the file (bench/doc_sections.py).
#
#   bench/run_all.sh                  3 interleaved SimpleNet rounds (about 45 s on a 2-core VM),
#                                     then the kernels (about 2 min), then the convolutions
#                                     (about 7 min)
#   BENCH_ROUNDS=5 bench/run_all.sh   more rounds
#   BENCH_KERNELS=0 bench/run_all.sh  without the kernels
#   BENCH_CONV=0 bench/run_all.sh     without the convolutions
#   BENCH_KEEP=1 bench/run_all.sh     keep the raw JSON and logs (paths printed at the end)
#
# Rounds: lowp, torch, lowp, torch, ... each tool runs once per round, and every figure in
# the document is the median over rounds per tool (each run's own figure is already a
# median over 51 blocks, or over 5 throughput repeats). Why whole `lowp demo` runs are
# repeated rather than one lowp run and several torch runs: the noise of a shared VM drifts
# over seconds to minutes, and interleaving puts both tools through the same stretches of
# it; with a single lowp run its figure would come from one stretch only. A `lowp demo`
# takes ~10 s (mostly PCA fit and training) and the torch script ~3 s, so 3 rounds cost
# under a minute, well inside the budget; the medians over rounds are what is reported.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOWP=build/release/tools/lowp/lowp
TORCH_PY=/usr/bin/python3 # Debian's python3-torch is visible only to the system Python
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=1
OUT_DOC=docs/BENCHMARKS.md

die() { echo "bench: $*" >&2; exit 1; }

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer, got '$ROUNDS'"
[[ -x "$LOWP" ]] || die "$LOWP is missing: run \`make build\` (or \`make bench\`, which builds first)"
[[ -x "$TORCH_PY" ]] || die "$TORCH_PY is missing: run \`scripts/setup.sh --bench\`"
if ! torch_version=$("$TORCH_PY" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
  die "$TORCH_PY cannot import torch: run \`scripts/setup.sh --bench\` (installs Debian's python3-torch)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lowp-bench.XXXXXX")
if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
  trap 'echo "bench: raw results kept in $tmp" >&2' EXIT
else
  trap 'rm -rf "$tmp"' EXIT
fi

# The machine and the versions, from this run.
cpu_model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
cpu_count=$(nproc)
"$LOWP" inspect --cpu >"$tmp/inspect.txt"
lowp_version=$("$LOWP" --version)
torch_package=$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || echo unknown)
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ "$git_rev" != unknown && -n "$(git status --porcelain 2>/dev/null)" ]]; then
  git_rev+=" with uncommitted changes"
fi
date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg) # other tenants: the 1, 5 and 15 min load averages

# The commands, as run (the <tmp> placeholder stands for $tmp in the document).
lowp_cmd=("$LOWP" demo --json "<tmp>/lowp-N.json" --threads "$THREADS")
torch_cmd=("$TORCH_PY" bench/simplenet_torch.py --threads "$THREADS")

lowp_files=()
torch_files=()
for ((r = 1; r <= ROUNDS; r++)); do
  echo "bench: round $r/$ROUNDS: lowp demo" >&2
  if ! "$LOWP" demo --json "$tmp/lowp-$r.json" --threads "$THREADS" >"$tmp/lowp-$r.log" 2>&1; then
    cat "$tmp/lowp-$r.log" >&2
    die "lowp demo failed (round $r)"
  fi
  lowp_files+=("$tmp/lowp-$r.json")

  echo "bench: round $r/$ROUNDS: PyTorch $torch_version" >&2
  "$TORCH_PY" bench/simplenet_torch.py --threads "$THREADS" >"$tmp/torch-$r.json" ||
    die "bench/simplenet_torch.py failed (round $r)"
  torch_files+=("$tmp/torch-$r.json")
done

load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

"$TORCH_PY" bench/write_benchmarks.py \
  --out "$OUT_DOC" \
  --date "$date_utc" \
  --cpu-model "$cpu_model" \
  --cpu-count "$cpu_count" \
  --load "$load_before" "$load_after" \
  --inspect "$tmp/inspect.txt" \
  --lowp-version "$lowp_version" \
  --git-rev "$git_rev" \
  --torch-package "$torch_package" \
  --rounds "$ROUNDS" \
  --command "make bench" \
  --command "$LOWP inspect --cpu" \
  --command "${lowp_cmd[*]}" \
  --command "${torch_cmd[*]}" \
  --lowp "${lowp_files[@]}" \
  --torch "${torch_files[@]}"

echo "bench: wrote the simplenet section of $OUT_DOC" >&2

if [[ "${BENCH_KERNELS:-1}" != 0 ]]; then
  bench/run_kernels.sh
fi

if [[ "${BENCH_CONV:-1}" != 0 ]]; then
  bench/run_conv.sh
fi
if [[ "${BENCH_MODELS:-1}" != 0 ]]; then
  /usr/bin/python3 scripts/export_models.py >/dev/null
  .venv/bin/python scripts/ort_reference.py >/dev/null
  .venv/bin/python bench/run_models.py
fi
