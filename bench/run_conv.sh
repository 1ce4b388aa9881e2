#!/usr/bin/env bash
# bench/run_conv.sh: lowp's fp32 NHWC convolution on the layers of ResNet-18 and MobileNetV2
# (`lowp bench conv`) against its peers, all in one run: oneDNN's convolution in the same NHWC
# layout (lowp_onednn_conv, when oneDNN is installed) and PyTorch's F.conv2d in NCHW and in
# channels_last (bench/conv_peers.py); writes the conv section of docs/BENCHMARKS.md
# (bench/write_conv.py). bench/run_all.sh (`make bench`) calls it after run_kernels.sh; it also
# runs on its own, from the repository root or anywhere.
#
#   bench/run_conv.sh                about 7 minutes on the 2-core VM
#   BENCH_KEEP=1 bench/run_conv.sh   keep the raw JSON (path printed at the end)
#
# What runs (every tool times as `lowp bench conv` does: one warm-up call, then 5 repeats of
# >= 0.2 s, median time per call):
#   1. lowp_peak: the fp32 FMA peak (the % of peak column), and `lowp inspect --kernels`
#   2. per model, 1 thread: `lowp bench conv --json`, then lowp_onednn_conv and conv_peers.py
#      on the layers lowp printed (they read lowp's JSON: one layer list, conv_bench.cc's)
#   3. per model, 2 threads, 3 rounds (the best per tool and layer is reported), each model's
#      run after waiting (up to 10 s) for the other processes to leave the CPUs idle
# The PyTorch command runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (this environment
# sets them for old OpenBLAS builds; PyTorch's 1x1 convolutions go through OpenBLAS).
# File names under the temporary folder are what write_conv.py reads:
# <tool>-<model>-t<threads>[-r<run>].json.
#
# Knobs, for trying the script or a partial run (the defaults are the full run):
#   BENCH_CONV_MODELS="resnet18"      the models (default: resnet18 mobilenetv2)
#   BENCH_CONV_T2_RUNS=0              2-thread rounds (default 3; 0: 1 thread only)
#   BENCH_CONV_LAYERS=REGEX           keep only the layers whose name matches (lowp still times
#                                     all of its model's layers: it has no filter)
#   BENCH_CONV_MIN_SECONDS=0.05       the peers' time per repeat (lowp's is fixed at 0.2 s)
#   BENCH_CONV_PEAK_JSON=FILE         a lowp_peak JSON from this machine instead of measuring
#   BENCH_CONV_LOWP=PATH              another lowp binary
#   BENCH_CONV_ONEDNN=PATH            another lowp_onednn_conv (not built here when given)
#   BENCH_CONV_OUT=FILE               the document to write (default docs/BENCHMARKS.md)
# A run cut down by BENCH_CONV_LAYERS or BENCH_CONV_MIN_SECONDS says so at the top of its section.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=build/release
LOWP=${BENCH_CONV_LOWP:-$BUILD/tools/lowp/lowp}
PEAK=$BUILD/bench/lowp_peak
ONEDNN=${BENCH_CONV_ONEDNN:-$BUILD/bench/lowp_onednn_conv}
PY=/usr/bin/python3 # Debian's python3-torch is visible only to the system Python
OUT_DOC=${BENCH_CONV_OUT:-docs/BENCHMARKS.md}
read -r -a MODELS <<<"${BENCH_CONV_MODELS:-resnet18 mobilenetv2}"
T2_RUNS=${BENCH_CONV_T2_RUNS:-3}
LAYERS=${BENCH_CONV_LAYERS:-}
MIN_SECONDS=${BENCH_CONV_MIN_SECONDS:-}
PEAK_JSON=${BENCH_CONV_PEAK_JSON:-}

die() { echo "bench: $*" >&2; exit 1; }

[[ -x "$LOWP" ]] || die "$LOWP is missing: run \`make build\`"
[[ -n "$PEAK_JSON" || -x "$PEAK" ]] || die "$PEAK is missing: run \`make build\`"
[[ -z "$PEAK_JSON" || -f "$PEAK_JSON" ]] || die "BENCH_CONV_PEAK_JSON: no file $PEAK_JSON"
[[ "$T2_RUNS" =~ ^[0-9]+$ ]] || die "BENCH_CONV_T2_RUNS must be a whole number, got '$T2_RUNS'"
((${#MODELS[@]} > 0)) || die "BENCH_CONV_MODELS is empty"
for model in "${MODELS[@]}"; do
  [[ "$model" == resnet18 || "$model" == mobilenetv2 ]] ||
    die "BENCH_CONV_MODELS: unknown model '$model' (resnet18, mobilenetv2)"
done
[[ -x "$PY" ]] || die "$PY is missing: run \`scripts/setup.sh --bench\`"
"$PY" -c 'import torch' 2>/dev/null ||
  die "$PY cannot import torch: run \`scripts/setup.sh --bench\` (installs Debian's python3-torch)"
# `make bench` builds before scripts/setup.sh --bench installs oneDNN: configure again so
# the optional peer is built on the first run too.
if [[ -z "${BENCH_CONV_ONEDNN:-}" && ! -x "$ONEDNN" && -f /usr/include/oneapi/dnnl/dnnl.hpp ]]; then
  echo "bench: building the oneDNN peer (lowp_onednn_conv)" >&2
  cmake --preset release >/dev/null && cmake --build "$BUILD" --target lowp_onednn_conv >/dev/null ||
    echo "bench: could not build lowp_onednn_conv; the oneDNN columns stay empty" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lowp-conv.XXXXXX")
if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
  trap 'echo "bench: raw conv results kept in $tmp" >&2' EXIT
else
  trap 'rm -rf "$tmp"' EXIT
fi

# cpu_busy SECONDS, wait_quiet: bench/cpu_quiet.sh
source "$(dirname "${BASH_SOURCE[0]}")/cpu_quiet.sh"

# note_cmd LINE: a command as run, for the document (<tmp> for the folder, M for the model, R
# for the round); recorded once per model list, so a line's count is its number of rounds.
note_cmd() { echo "$*" >>"$tmp/commands.txt"; }

peer_flags=()
trial=()
if [[ -n "$MIN_SECONDS" ]]; then
  peer_flags+=(--min-seconds "$MIN_SECONDS")
  trial+=("the peers timed $MIN_SECONDS s per repeat (BENCH_CONV_MIN_SECONDS), lowp 0.2 s")
fi
if [[ -n "$LAYERS" ]]; then
  trial+=("only the layers matching '$LAYERS' (BENCH_CONV_LAYERS)")
fi

# run_model MODEL THREADS [RUN]: lowp, then oneDNN, then PyTorch, on MODEL's layers.
run_model() {
  local model=$1 threads=$2 run=${3:-} suffix tag first=0
  suffix="t$threads${run:+-r$run}"
  tag="t$threads${run:+-rR}"
  [[ "$model" == "${MODELS[0]}" ]] && first=1
  if [[ -n "$run" ]]; then
    echo "bench: $model $threads threads run $run: waiting for idle CPUs" >&2
    wait_quiet >"$tmp/busy-$model-$suffix.txt"
  fi
  local lowp_json="$tmp/lowp-$model-$suffix.json"
  echo "bench: $model, $threads thread(s)${run:+, run $run}: lowp" >&2
  "$LOWP" bench conv --model "$model" --threads "$threads" --json >"$lowp_json" ||
    die "lowp bench conv --model $model --threads $threads failed"
  ((first)) && note_cmd "$LOWP bench conv --model M --threads $threads --json > <tmp>/lowp-M-$tag.json"
  if [[ -n "$LAYERS" ]]; then
    "$PY" -c 'import json, re, sys
lines = [l for l in open(sys.argv[1]) if l.strip() and re.search(sys.argv[2], json.loads(l)["layer"])]
open(sys.argv[1], "w").writelines(lines)
sys.exit(0 if lines else "bench: no layer of " + sys.argv[3] + " matches BENCH_CONV_LAYERS")' \
      "$lowp_json" "$LAYERS" "$model"
  fi
  if [[ -x "$ONEDNN" ]]; then
    echo "bench: $model, $threads thread(s)${run:+, run $run}: oneDNN" >&2
    if OMP_NUM_THREADS=$threads "$ONEDNN" --layers "$lowp_json" "${peer_flags[@]}" --json \
      >"$tmp/onednn-$model-$suffix.json"; then
      ((first)) && note_cmd "OMP_NUM_THREADS=$threads $ONEDNN --layers <tmp>/lowp-M-$tag.json" \
        "${peer_flags[@]}" "--json"
    else
      echo "bench: lowp_onednn_conv failed on $model: no oneDNN figures there" >&2
      rm -f "$tmp/onednn-$model-$suffix.json"
    fi
  fi
  echo "bench: $model, $threads thread(s)${run:+, run $run}: PyTorch" >&2
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" bench/conv_peers.py --layers "$lowp_json" \
    --threads "$threads" "${peer_flags[@]}" >"$tmp/torch-$model-$suffix.json" 2>"$tmp/torch-$model-$suffix.log" ||
    { cat "$tmp/torch-$model-$suffix.log" >&2; die "bench/conv_peers.py failed on $model"; }
  ((first)) && note_cmd "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $PY bench/conv_peers.py" \
    "--layers <tmp>/lowp-M-$tag.json --threads $threads" "${peer_flags[@]}"
  return 0
}

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
busy_before=$(cpu_busy 1)
start_s=$(date +%s)

if [[ -n "$PEAK_JSON" ]]; then
  cp "$PEAK_JSON" "$tmp/peak.json"
  note_cmd "# lowp_peak: its JSON from an earlier run, $PEAK_JSON (BENCH_CONV_PEAK_JSON)"
else
  echo "bench: lowp_peak (the fp32 FMA peak)" >&2
  "$PEAK" >"$tmp/peak.json"
  note_cmd "$PEAK"
fi
"$LOWP" inspect --cpu >"$tmp/inspect-cpu.txt"
"$LOWP" inspect --kernels >"$tmp/inspect-kernels.txt"
note_cmd "$LOWP inspect --kernels"

for model in "${MODELS[@]}"; do
  run_model "$model" 1
done
for ((r = 1; r <= T2_RUNS; r++)); do
  for model in "${MODELS[@]}"; do
    run_model "$model" 2 "$r"
  done
done

load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)
busy_after=$(cpu_busy 1)
elapsed_s=$(($(date +%s) - start_s))

git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ "$git_rev" != unknown && -n "$(git status --porcelain 2>/dev/null)" ]]; then
  git_rev+=" with uncommitted changes"
fi
trial_text=""
for t in "${trial[@]}"; do
  trial_text+="${trial_text:+; }$t"
done

"$PY" bench/write_conv.py \
  --dir "$tmp" \
  --out "$OUT_DOC" \
  --date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  --cpu-model "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)" \
  --cpu-count "$(nproc)" \
  --threads-per-core "$(lscpu | sed -n 's/^Thread(s) per core:[[:space:]]*//p' | head -n 1)" \
  --load "$load_before" "$load_after" \
  --busy "$busy_before" "$busy_after" \
  --elapsed "$elapsed_s" \
  --lowp-version "$("$LOWP" --version)" \
  --git-rev "$git_rev" \
  --onednn-package "$(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo none)" \
  --torch-package "$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || echo unknown)" \
  --env-coretype "${OPENBLAS_CORETYPE:-}" \
  --env-l2-size "${OPENBLAS_L2_SIZE:-}" \
  --trial "$trial_text"

echo "bench: wrote the conv section of $OUT_DOC" >&2
