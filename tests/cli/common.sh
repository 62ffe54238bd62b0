# Sourced by the end-to-end tests: arguments, scratch space, small asserts.
set -euo pipefail
bin=$(cd "$1" && pwd)
archive=$2
src=$3
if [[ ! -f "$archive" ]]; then
  echo "SKIP: IMDB archive not found at $archive"
  exit 77
fi
tmp=$(mktemp -d /tmp/distgru_e2e.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mpirun_np() { local n=$1; shift; mpirun -np "$n" --oversubscribe --bind-to none "$@"; }
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check "description" command...
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
# json_number KEY FILE: the first numeric value of "KEY" in a JSON file.
json_number() { grep -o "\"$1\": *[-0-9.eE+]*" "$2" | head -1 | sed 's/.*: *//'; }
# gt A B: A > B as floating point.
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
contains() { grep -q -- "$2" "$1"; }
not_contains() { ! grep -q -- "$2" "$1"; }
# step_losses METRICS: "step loss" of each step record of a metrics.jsonl, in order.
step_losses() { grep '"samples_per_sec"' "$1" | sed -n 's/.*"loss":\([-0-9.eE+]*\).*"step":\([0-9]*\).*/\2 \1/p'; }
# test_line LOG: the trainer's "test accuracy ... auc ..." line.
test_line() { grep -o 'test accuracy .*' "$1" | head -1; }
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed == 0 ]]
}
# A small real dataset: 3 train shards (so 2 ranks read across shard files).
prepare_small() {
  "$bin/distgru-prepare" --source "$archive" --out "$1" --shards 3 --vocab-size 5000 \
    --sentence-size 128 --max-train "${2:-3000}" --max-test "${3:-1000}" 2>"$tmp/prepare.log"
}
