#!/usr/bin/env bash
# Watching a run from outside: the TensorBoard event files read by a reader
# that shares no code with distgru (tests/tools/read_tensorboard.js:
# protobufjs and @aws-crypto/crc32c), against the run's metrics.jsonl; a
# flipped byte must be caught; a resumed run adds a file and carries on its
# steps. --trace-steps: one Chrome trace with every rank's spans, each
# bucket's allreduce on the communication thread; distgru-report draws it.
source "$(dirname "$0")/common.sh"
tools=$src/tests/tools
[[ -d $tools/node_modules/protobufjs ]] || { echo "SKIP: npm test tools not installed (launch/test.sh installs them)"; exit 77; }

prepare_small "$tmp/data" 1000 200
train() {
  mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --checkpoint-dir "$tmp/run" \
    --log-every 1 --eval-every 4 "$@"
}
train --steps 8 --trace-steps 2:4 >/dev/null 2>"$tmp/train.err" || { tail -5 "$tmp/train.err"; bad "training failed"; }

first=$(head -1 "$tmp/train.err")
echo "first log line: $first"
check "the first log line carries the provenance (commit, LibTorch, Open MPI, HDF5, BLAS, CPU, hosts)" \
  bash -c 'for w in "(git " LibTorch "Open MPI" HDF5 kernels "ranks per host: "; do [[ $1 == *"$w"* ]] || exit 1; done' _ "$first"
check "metrics.jsonl's first record is the run's provenance" /usr/bin/python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
p = r["provenance"]
assert r["run"] and p["distgru"]["git_commit"] and p["libtorch"] and p["mpi"] and p["hdf5"] and p["blas"], p
assert p["cpu"]["model"] and p["hosts"] and len(p["hosts"]) == 2, p
' "$tmp/run/metrics.jsonl"

shopt -s nullglob
events=("$tmp"/run/tb/events.out.tfevents.*)
check "one event file in <run>/tb" test "${#events[@]}" -eq 1
check "the log names the event file" grep -q "tb/events.out.tfevents" "$tmp/train.err"
(cd "$tools" && node read_tensorboard.js "$tmp/run/tb" "$tmp/run/metrics.jsonl") | tee "$tmp/tb.out"
check "an independent reader: every CRC right, every scalar equals metrics.jsonl" test "${PIPESTATUS[0]}" -eq 0
check "it compared every scalar of metrics.jsonl (8 steps x 3, 2 validations and the test x 3)" \
  grep -q " 33 compared with metrics.jsonl" "$tmp/tb.out"

# A flipped byte inside a record: the reader must notice.
mkdir -p "$tmp/flipped"
cp "${events[0]}" "$tmp/flipped/"
flipped=("$tmp"/flipped/events.*)
size=$(stat -c %s "${flipped[0]}")
printf '\x55' | dd of="${flipped[0]}" bs=1 seek=$((size / 2)) conv=notrunc status=none
rc=0; (cd "$tools" && node read_tensorboard.js "$tmp/flipped" "$tmp/run/metrics.jsonl") >"$tmp/flipped.out" || rc=$?
cat "$tmp/flipped.out"
check "negative control: a flipped byte fails the reader" test "$rc" -eq 1
check "  with a CRC mismatch" grep -q "CRC mismatch" "$tmp/flipped.out"

# The trace: steps 2 to 4 of both ranks.
check "trace.json written" test -s "$tmp/run/trace.json"
check "the log says where the trace went" grep -q "trace.json" "$tmp/train.err"
check "trace.json: spans of both ranks, steps 2-4 only, each part and each bucket's allreduce" \
  /usr/bin/python3 - "$tmp/run/trace.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
spans = [e for e in events if e["ph"] == "X"]
assert {e["pid"] for e in spans} == {0, 1}, "ranks"
assert {e["args"]["step"] for e in spans} == {2, 3, 4}, sorted({e["args"]["step"] for e in spans})
for rank in (0, 1):
    for step in (2, 3, 4):
        mine = [e for e in spans if e["pid"] == rank and e["args"]["step"] == step]
        names = {e["name"] for e in mine}
        assert {"data", "forward", "backward", "sync wait", "optimizer"} <= names, (rank, step, names)
        buckets = [e for e in mine if e["name"].startswith("allreduce bucket")]
        assert buckets and all(e["tid"] == 1 and e["dur"] > 0 for e in buckets), (rank, step, buckets)
        main = sorted((e for e in mine if e["tid"] == 0), key=lambda e: e["ts"])
        assert all(e["dur"] >= 0 for e in main)
print(len(spans), "spans")
PY

# The report draws the timeline.
"$bin/distgru-report" --checkpoint-dir "$tmp/run" --format png >"$tmp/report.out" 2>"$tmp/report.err" ||
  { cat "$tmp/report.err"; bad "distgru-report failed"; }
check "report drew timeline.png" bash -c "head -c 8 '$tmp/run/report/timeline.png' | od -c | grep -q 'P   N   G'"
check "report index shows it" grep -q 'src="timeline.png"' "$tmp/run/report/index.html"
echo '{"traceEvents": 3}' >"$tmp/run/trace.json"
rc=0; "$bin/distgru-report" --checkpoint-dir "$tmp/run" --format png >/dev/null 2>"$tmp/badtrace.err" || rc=$?
check "a trace.json that is not a trace is an error naming it" grep -q "trace.json: no traceEvents" "$tmp/badtrace.err"
rm "$tmp/run/trace.json"

# Resume: a second event file whose steps carry on (the reader checks they rise).
train --steps 12 --resume auto >/dev/null 2>"$tmp/resume.err" || { tail -5 "$tmp/resume.err"; bad "resume failed"; }
events=("$tmp"/run/tb/events.out.tfevents.*)
check "a resumed run writes a second event file" test "${#events[@]}" -eq 2
(cd "$tools" && node read_tensorboard.js "$tmp/run/tb" "$tmp/run/metrics.jsonl") | tee "$tmp/tb2.out"
check "both files read back, steps rising across them, values equal to metrics.jsonl" test "${PIPESTATUS[0]}" -eq 0

# --tensorboard 0: none.
rm -rf "$tmp/run"
train --steps 2 --tensorboard 0 >/dev/null 2>"$tmp/off.err" || { tail -5 "$tmp/off.err"; bad "training failed"; }
check "--tensorboard 0 writes no event file" test ! -e "$tmp/run/tb"
finish
