#!/usr/bin/env bash
# bench/run_kernels.sh: lowp's GEMM kernels against this machine's measured roofline and
# against their peers (oneDNN, OpenBLAS through numpy and PyTorch, PyTorch's bf16 and
# dynamic int8 paths), all in one run; writes the kernels section of docs/BENCHMARKS.md and
# docs/roofline.svg (bench/write_kernels.py). bench/run_all.sh (`make bench`) calls it after
# the SimpleNet rounds; it also runs on its own, from the repository root or anywhere.
#
#   bench/run_kernels.sh                about 2 minutes on the 2-core VM
#   BENCH_KEEP=1 bench/run_kernels.sh   keep the raw JSON (path printed at the end)
#
# What runs, single thread unless said (every tool times as `lowp bench gemm` does: warm-up,
# then 5 repeats of >= 0.3 s, median time per call):
#   1. lowp_peak: the ceilings (fp32 FMA ymm/zmm, bf16 dot, int8 VNNI, L1/L2/L3/DRAM reads),
#      again after each round below; each ceiling is the best of those runs
#   2. per target, lowp then its C++ peer (lowp_onednn_gemm, when oneDNN is installed):
#        gemm1024      m=n=k=1024, fp32 bf16 int8
#        gemm1024t2    the same fp32 with 2 threads
#        gemv4096cold  m=1 n=k=4096, weight copies cycled past the LLC, fp32 fp16 bf16 int8 int4
#                      (these three: 3 rounds each, the best per tool reported, spread over
#                      the whole run, each after waiting (up to 10 s) for the other
#                      processes on the machine to leave the CPUs idle)
#        small64       m=64 n=50 k=100 (SimpleNet's first layer), every dtype
#        small1        m=1 n=50 k=100, every dtype
#   3. bench/gemm_peers.py: numpy / PyTorch peers, with OPENBLAS_CORETYPE and
#      OPENBLAS_L2_SIZE unset in that command alone (this environment sets them for old
#      OpenBLAS builds; they would pin OpenBLAS 0.3.21 to its Haswell kernel); when they are
#      set, numpy's fp32 GEMM once more with them as set, to show what they cost.
# The file names under the temporary folder are what write_kernels.py reads:
# <tool>-<target>-<dtype>[-r<run>].json.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=build/release
LOWP=$BUILD/tools/lowp/lowp
PEAK=$BUILD/bench/lowp_peak
ONEDNN=$BUILD/bench/lowp_onednn_gemm
PY=/usr/bin/python3 # Debian's python3-torch / numpy are visible only to the system Python
OUT_DOC=docs/BENCHMARKS.md
OUT_SVG=docs/roofline.svg

die() { echo "bench: $*" >&2; exit 1; }

[[ -x "$LOWP" && -x "$PEAK" ]] || die "$LOWP or $PEAK is missing: run \`make build\`"
[[ -x "$PY" ]] || die "$PY is missing: run \`scripts/setup.sh --bench\`"
"$PY" -c 'import torch, numpy, threadpoolctl' 2>/dev/null ||
  die "$PY cannot import torch, numpy and threadpoolctl: run \`scripts/setup.sh --bench\`"
# `make bench` builds before scripts/setup.sh --bench installs oneDNN: configure again so
# the optional peer is built on the first run too.
if [[ ! -x "$ONEDNN" && -f /usr/include/oneapi/dnnl/dnnl.hpp ]]; then
  echo "bench: building the oneDNN peer (lowp_onednn_gemm)" >&2
  cmake --preset release >/dev/null && cmake --build "$BUILD" --target lowp_onednn_gemm >/dev/null ||
    echo "bench: could not build lowp_onednn_gemm; the oneDNN column stays empty" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lowp-kernels.XXXXXX")
if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
  trap 'echo "bench: raw kernel results kept in $tmp" >&2' EXIT
else
  trap 'rm -rf "$tmp"' EXIT
fi

# cpu_busy SECONDS, wait_quiet: bench/cpu_quiet.sh
source "$(dirname "${BASH_SOURCE[0]}")/cpu_quiet.sh"

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
busy_before=$(cpu_busy 1)
start_s=$(date +%s)

echo "bench: lowp_peak (the ceilings)" >&2
"$PEAK" >"$tmp/peak.json"

# shape of each target: m n k [extra lowp/oneDNN flags]
declare -A SHAPE=(
  [gemm1024]="1024 1024 1024"
  [gemm1024t2]="1024 1024 1024"
  [gemv4096cold]="1 4096 4096 --cold"
  [small64]="64 50 100"
  [small1]="1 50 100"
)
declare -A DTYPES=(
  [gemm1024]="fp32 bf16 int8"
  [gemm1024t2]="fp32"
  [gemv4096cold]="fp32 fp16 bf16 int8 int4"
  [small64]="fp32 fp16 bf16 int8 int4"
  [small1]="fp32 fp16 bf16 int8 int4"
)
ONEDNN_DTYPES=" fp32 bf16 int8 " # oneDNN 2.6 on a CPU without AVX512-FP16: no fp16, no int4

declare -A THREADS=([gemm1024t2]=2)

# run_target TARGET [RUN]: lowp, then oneDNN, on every dtype of TARGET. With RUN (targets
# run 3 times, the best per tool reported), files get a -rRUN suffix and the CPUs' use by
# others is recorded.
run_target() {
  local target=$1 run=${2:-} m n k extra dtype suffix="" threads=${THREADS[$1]:-1}
  read -r m n k extra <<<"${SHAPE[$target]}"
  if [[ -n "$run" ]]; then
    suffix="-r$run"
    echo "bench: $target run $run: waiting for idle CPUs" >&2
    wait_quiet >"$tmp/busy-$target$suffix.txt"
  fi
  for dtype in ${DTYPES[$target]}; do
    echo "bench: $target $dtype$suffix: lowp" >&2
    # shellcheck disable=SC2086 # $extra is a flag or nothing
    "$LOWP" bench gemm --m "$m" --n "$n" --k "$k" --dtype "$dtype" --threads "$threads" $extra \
      --json >"$tmp/lowp-$target-$dtype$suffix.json"
    if [[ -x "$ONEDNN" && "$ONEDNN_DTYPES" == *" $dtype "* ]]; then
      echo "bench: $target $dtype$suffix: oneDNN" >&2
      # shellcheck disable=SC2086
      if ! OMP_NUM_THREADS=$threads "$ONEDNN" --m "$m" --n "$n" --k "$k" --dtype "$dtype" $extra \
        --json >"$tmp/onednn-$target-$dtype$suffix.json"; then
        echo "bench: lowp_onednn_gemm failed on $target $dtype: no oneDNN figure there" >&2
        rm -f "$tmp/onednn-$target-$dtype$suffix.json"
      fi
    fi
  done
}

# The compute-bound 1-thread GEMM and the memory-bound cold GEMVs move with what the other
# tenants of the host do: 3 rounds, interleaved with the 2-thread runs, best per tool.
for round in 1 2 3; do
  run_target gemm1024 "$round"
  run_target gemm1024t2 "$round"
  run_target gemv4096cold "$round"
  echo "bench: lowp_peak, round $round (the ceilings are the best runs)" >&2
  "$PEAK" >"$tmp/peak-r$round.json"
  if [[ $round == 2 ]]; then
    run_target small64
    run_target small1
  fi
done

echo "bench: numpy and PyTorch peers (bench/gemm_peers.py)" >&2
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" bench/gemm_peers.py --threads 1 >"$tmp/peers.json"
if [[ -n "${OPENBLAS_CORETYPE:-}${OPENBLAS_L2_SIZE:-}" ]]; then
  echo "bench: numpy fp32 GEMM with OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-} as set" >&2
  "$PY" bench/gemm_peers.py --threads 1 --case numpy_fp32_gemm >"$tmp/peers-env.json"
fi

load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)
busy_after=$(cpu_busy 1)
elapsed_s=$(($(date +%s) - start_s))

"$LOWP" inspect --cpu >"$tmp/inspect.txt"
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ "$git_rev" != unknown && -n "$(git status --porcelain 2>/dev/null)" ]]; then
  git_rev+=" with uncommitted changes"
fi

"$PY" bench/write_kernels.py \
  --dir "$tmp" \
  --out "$OUT_DOC" \
  --svg "$OUT_SVG" \
  --date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  --cpu-model "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)" \
  --cpu-family "$(lscpu | sed -n 's/^CPU family:[[:space:]]*//p' | head -n 1)" \
  --cpu-count "$(nproc)" \
  --threads-per-core "$(lscpu | sed -n 's/^Thread(s) per core:[[:space:]]*//p' | head -n 1)" \
  --load "$load_before" "$load_after" \
  --busy "$busy_before" "$busy_after" \
  --elapsed "$elapsed_s" \
  --lowp-version "$("$LOWP" --version)" \
  --git-rev "$git_rev" \
  --onednn-package "$(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo none)" \
  --openblas-package "$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)" \
  --torch-package "$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || echo unknown)" \
  --env-coretype "${OPENBLAS_CORETYPE:-}" \
  --env-l2-size "${OPENBLAS_L2_SIZE:-}"

echo "bench: wrote the kernels section of $OUT_DOC and $OUT_SVG" >&2
