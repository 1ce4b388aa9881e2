#!/usr/bin/env bash
# tests/cli/isa_override.sh LOWP: LOWP_ISA lowers the kernels dispatch picks. Under each
# level this CPU supports, every kernel `lowp inspect --kernels` marks as chosen needs that
# level or less, and the seed workflow runs end to end on those kernels (1 epoch; the
# accuracy of the fp32 and int8 rows must still be a trained network's, above 0.8).
set -u
lowp=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passed=0
supported=$("$lowp" inspect --cpu | sed -n 's/^isa supported: //p')
order=(scalar avx2 avx512 avx512vnni avx512bf16)
rank() { local i; for i in "${!order[@]}"; do [[ ${order[$i]} == "$1" ]] && echo "$i"; done; }
for isa in "${order[@]}"; do
  if (($(rank "$isa") > $(rank "$supported"))); then
    echo "NOTE: LOWP_ISA=$isa not tested: this CPU supports up to $supported"
    continue
  fi
  # Chosen lines look like "  * NAME  needs LEVEL ..."
  bad=$(LOWP_ISA=$isa "$lowp" inspect --kernels | awk -v max="$(rank "$isa")" '
    BEGIN { split("scalar avx2 avx512 avx512vnni avx512bf16", o, " "); for (i in o) r[o[i]] = i - 1 }
    $1 == "*" { if (r[$4] > max) print $2 " needs " $4 }')
  if [[ -n $bad ]]; then
    echo "FAIL: LOWP_ISA=$isa chose: $bad"; failures=$((failures + 1))
  else
    passed=$((passed + 1))
  fi
  if LOWP_ISA=$isa timeout 300 "$lowp" demo --epochs 1 --precision fp32,int8,int4 --json "$work/$isa.json" \
      >"$work/$isa.out" 2>&1 &&
     awk -F'"accuracy": ' 'NF > 1 { split($2, a, ","); if (a[1] + 0 < 0.8) bad = 1; n++ }
                           END { exit !(n == 3 && !bad) }' "$work/$isa.json"; then
    passed=$((passed + 1))
  else
    echo "FAIL: LOWP_ISA=$isa demo:"; tail -5 "$work/$isa.out"; failures=$((failures + 1))
  fi
done
echo "$passed passed, $failures failed"
[[ $failures -eq 0 ]]
