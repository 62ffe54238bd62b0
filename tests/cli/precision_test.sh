#!/usr/bin/env bash
# --precision bf16 on the real reviews under mpirun: the trainer says what
# it runs, trains, and its step losses follow fp32's closely without being
# fp32's; stopped and resumed it continues bit for bit; where oneDNN is held
# below AVX512_BF16 (ONEDNN_MAX_CPU_ISA, oneDNN's own switch) it warns and
# runs exactly fp32.
#   tests/cli/precision_test.sh <bin dir> <imdb archive> <source dir>
source "$(dirname "$0")/common.sh"
set +e
prepare_small "$tmp/data" 1000 200
train() {  # DIR STEPS [flags]
  local dir=$1 steps=$2; shift 2
  mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --checkpoint-dir "$dir" \
    --threads 1 --steps "$steps" --checkpoint-every 10 --eval-every 100 --log-every 1 "$@" >"$dir.log" 2>&1
}
losses() { step_losses "$1/metrics.jsonl"; }

if ! grep -qwE "avx512_bf16|amx_bf16" /proc/cpuinfo; then
  train "$tmp/none" 20 --precision bf16
  check "without AVX512_BF16 or AMX: the fallback is logged" grep -q "precision bf16: .*running fp32" "$tmp/none.log"
  check "and training ran" grep -q "trained 20 steps" "$tmp/none.log"
  finish
  exit
fi

train "$tmp/fp32" 20
train "$tmp/bf16" 20 --precision bf16
check "bf16 trained 20 steps" grep -q "trained 20 steps" "$tmp/bf16.log"
check "and said so: $(grep -o 'precision bf16: .*' "$tmp/bf16.log" | head -1 | cut -c1-120)" \
  grep -q "precision bf16: fast GRU: .*bf16 products through oneDNN bf16" "$tmp/bf16.log"
check "no line of the bf16 run claims fp32 products" test "$(grep -c "fp32 products" "$tmp/bf16.log")" == 0
check "the checkpoint's config records it" grep -q "precision = bf16" "$tmp/bf16.log"
check "20 step losses each" test "$(losses "$tmp/fp32" | wc -l)" == 20 -a "$(losses "$tmp/bf16" | wc -l)" == 20
# Same data, same initialisation: the losses differ only by bf16's rounding.
read -r most_apart any_apart < <(paste <(losses "$tmp/fp32") <(losses "$tmp/bf16") |
  awk '{ d = $2 - $4; if (d < 0) d = -d; r = d / $2; if (r > m) m = r; if (d > 0) n++ } END { print m, n + 0 }')
check "bf16's step losses within 1% of fp32's (largest relative gap $most_apart)" gt 0.01 "$most_apart"
check "but not fp32's ($any_apart of 20 differ)" gt "$any_apart" 0

# Stopped at step 10 and resumed: steps 11-20 as the uninterrupted run's.
train "$tmp/resumed" 10 --precision bf16
train "$tmp/resumed" 20 --precision bf16 --resume auto
check "bf16 resumed from step 10: $(grep -o 'resume: .*' "$tmp/resumed.log" | head -1 | cut -c1-100)" grep -q "resume: .*ckpt-00000010.pt" "$tmp/resumed.log"
check "and steps 11-20 are bit-identical to the uninterrupted run's" \
  diff <(losses "$tmp/bf16" | tail -10) <(losses "$tmp/resumed" | tail -10)

# oneDNN held to AVX-512 without its bf16 instructions: a warning, then fp32.
ONEDNN_MAX_CPU_ISA=AVX512_CORE train "$tmp/held" 20 --precision bf16
check "the fallback is logged" grep -q "precision bf16: this CPU has neither AVX512_BF16 nor AMX (oneDNN's ISA here: avx512_core).*running fp32" "$tmp/held.log"
check "and the run is fp32's, bit for bit" diff <(losses "$tmp/fp32") <(losses "$tmp/held")
finish
