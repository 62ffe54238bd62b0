#!/usr/bin/env bash
# The model taken elsewhere, each export checked by a reader that shares no
# code with distgru: onnx.checker and ONNX Runtime (Node) run model.onnx,
# plain PyTorch runs model.safetensors through examples/load_in_pytorch.py
# (with its own tokeniser), and both must give distgru-predict's
# probabilities and attention weights on 200 test reviews to 1e-5. Negative
# controls: a wrong GRU gate order and linear_before_reset = 0 must fail.
source "$(dirname "$0")/common.sh"
tools=$src/tests/tools
[[ -d $tools/node_modules/onnxruntime-node ]] || { echo "SKIP: npm test tools not installed (launch/test.sh installs them)"; exit 77; }

prepare_small "$tmp/data" 1000 200
mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --checkpoint-dir "$tmp/run" \
  --steps 30 --eval-every 15 >/dev/null 2>"$tmp/train.err" || { tail -5 "$tmp/train.err"; bad "training failed"; }

"$bin/distgru-export" --checkpoint "$tmp/run" --out "$tmp/model" >"$tmp/export.out" 2>&1 ||
  { cat "$tmp/export.out"; bad "distgru-export failed"; }
for f in model.onnx model.safetensors vocab.txt config.json; do
  check "the model folder has $f" test -s "$tmp/model/$f"
done
check "config.json names the vocabulary's SHA-256 and the checkpoint" /usr/bin/python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert len(c["vocabulary"]["sha256"]) == 64 and c["source"]["checkpoint"].endswith(".pt"), c
assert c["tokenizer"]["sentence_size"] == 128 and c["tokenizer"]["truncation"] == "head-tail", c["tokenizer"]
assert c["provenance"]["export"]["libtorch"] and c["provenance"]["training"]["ranks"] == 2, c["provenance"]
' "$tmp/model/config.json"

# 200 test reviews as people write them: 100 positive, 100 negative, one a line.
mkdir -p "$tmp/raw"
tar -xzf "$archive" -C "$tmp/raw" --wildcards 'aclImdb/test/pos/1[0-9]*_*.txt' 'aclImdb/test/neg/1[0-9]*_*.txt'
mapfile -t pos < <(ls "$tmp"/raw/aclImdb/test/pos/* | sort)
mapfile -t neg < <(ls "$tmp"/raw/aclImdb/test/neg/* | sort)
for f in "${pos[@]:0:100}" "${neg[@]:0:100}"; do cat "$f"; echo; done >"$tmp/reviews.txt"
check "200 reviews to score" test "$(wc -l <"$tmp/reviews.txt")" -eq 200

"$bin/distgru-predict" --checkpoint "$tmp/model" --file "$tmp/reviews.txt" --json >"$tmp/distgru.jsonl" 2>"$tmp/pred.err"
"$bin/distgru-predict" --checkpoint "$tmp/run" --vocab "$tmp/data/vocab.txt" --file "$tmp/reviews.txt" --json \
  >"$tmp/checkpoint.jsonl" 2>>"$tmp/pred.err"
check "distgru-predict gives the same from the folder as from the checkpoint" \
  /usr/bin/python3 "$tools/compare_predictions.py" "$tmp/checkpoint.jsonl" "$tmp/distgru.jsonl" 0

# ONNX: the checker, ONNX Runtime, and the negative controls.
check "onnx.checker accepts model.onnx" /usr/bin/python3 "$tools/onnx_negative_controls.py" "$tmp/model/model.onnx" "$tmp"
(cd "$tools" && node onnx_runtime_check.js "$tmp/model/model.onnx" "$tmp/distgru.jsonl" 1e-5) | tee "$tmp/ort.out"
check "ONNX Runtime reproduces distgru-predict to 1e-5" test "${PIPESTATUS[0]}" -eq 0
for wrong in wrong_gate_order no_linear_before_reset; do
  rc=0; (cd "$tools" && node onnx_runtime_check.js "$tmp/$wrong.onnx" "$tmp/distgru.jsonl" 1e-5) >"$tmp/$wrong.out" || rc=$?
  cat "$tmp/$wrong.out"
  check "negative control: ONNX Runtime on $wrong.onnx misses by more than 1e-5" test "$rc" -eq 1
done

# PyTorch: the documented example, with its own tokeniser.
/usr/bin/python3 "$src/examples/load_in_pytorch.py" --model "$tmp/model" --file "$tmp/reviews.txt" --json \
  >"$tmp/torch.jsonl" 2>"$tmp/torch.err" || { tail -5 "$tmp/torch.err"; bad "the PyTorch example failed"; }
/usr/bin/python3 "$tools/compare_predictions.py" "$tmp/distgru.jsonl" "$tmp/torch.jsonl" 1e-5 | tee "$tmp/torch.out"
check "PyTorch (load_state_dict strict) reproduces distgru-predict to 1e-5, with the same token ids" \
  test "${PIPESTATUS[0]}" -eq 0

# distgru-eval scores the folder as it scores the checkpoint.
mpirun_np 1 "$bin/distgru-eval" --checkpoint "$tmp/model" --data "$tmp/data" --output "$tmp/folder_eval.json" \
  >/dev/null 2>"$tmp/eval.err" || { tail -5 "$tmp/eval.err"; bad "eval of the folder failed"; }
mpirun_np 1 "$bin/distgru-eval" --checkpoint "$tmp/run" --data "$tmp/data" --output "$tmp/run_eval.json" \
  >/dev/null 2>>"$tmp/eval.err"
check "distgru-eval gives the folder the checkpoint's accuracy" \
  test "$(json_number accuracy "$tmp/folder_eval.json")" = "$(json_number accuracy "$tmp/run_eval.json")"

# The export refuses a vocabulary the model was not trained with.
"$bin/distgru-prepare" --source "$archive" --out "$tmp/other" --shards 1 --vocab-size 5000 --sentence-size 128 \
  --max-train 700 --max-test 50 2>/dev/null
rc=0; "$bin/distgru-export" --checkpoint "$tmp/run" --out "$tmp/never" --vocab "$tmp/other/vocab.txt" \
  >"$tmp/refused.out" 2>&1 || rc=$?
check "distgru-export refuses another vocabulary (exit 2)" test "$rc" -eq 2
check "naming it" grep -q "was trained with the vocabulary" "$tmp/refused.out"

# Exported again into the same folder in one format only: the other
# format's file of the earlier export goes, and config.json stops naming it.
cp -r "$tmp/model" "$tmp/again"
"$bin/distgru-export" --checkpoint "$tmp/run" --out "$tmp/again" --format safetensors >"$tmp/again.out" 2>&1 ||
  { cat "$tmp/again.out"; bad "distgru-export --format safetensors failed"; }
check "a second export in one format removes the other's file" test ! -e "$tmp/again/model.onnx"
check "and says so" grep -q "removed .*model.onnx, an earlier export's" "$tmp/again.out"
check "config.json describes no ONNX graph" not_contains "$tmp/again/config.json" '"onnx"'
finish
