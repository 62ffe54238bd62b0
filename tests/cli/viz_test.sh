#!/usr/bin/env bash
# What people see: the live progress line, distgru-eval's summary, the
# attention heat map page (opened in a real headless browser) and the
# distgru-report pictures, all from a small real run on the IMDB archive.
source "$(dirname "$0")/common.sh"
for tool in chromium gnuplot; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (launch/install_deps.sh installs it)"; exit 77; }
done

"$bin/distgru-prepare" --source "$archive" --out "$tmp/data" --shards 2 --vocab-size 5000 \
  --sentence-size 128 --max-train 600 --max-test 200 2>"$tmp/prepare.log" ||
  { cat "$tmp/prepare.log"; bad "prepare failed"; finish; }

# A terminal is not at hand in a test; DISTGRU_PROGRESS=live asks for its line.
DISTGRU_PROGRESS=live mpirun_np 2 -x DISTGRU_PROGRESS "$bin/distgru-train" --config "$src/configs/tiny.ini" \
  --data "$tmp/data" --checkpoint-dir "$tmp/run" --steps 20 --checkpoint-every 10 --eval-every 10 \
  >"$tmp/train.out" 2>"$tmp/train.err" || { cat "$tmp/train.err"; bad "training exited non-zero"; finish; }
check "live progress rewrites one line (carriage return, clear to end)" grep -q $'\r\033\[Kepoch .* step 20/20 .*samples/s ETA' "$tmp/train.err"
check "the live line ends before the validation log line" grep -q $'ETA [0-9hms]*$' "$tmp/train.err"
check "no plain progress lines in live mode" bash -c "! grep -q 'info: epoch ' '$tmp/train.err'"
check "metrics.jsonl still has step records" contains "$tmp/run/metrics.jsonl" '"samples_per_sec"'

# distgru-eval: every number for people on stdout, the same in JSON.
mpirun_np 2 "$bin/distgru-eval" --checkpoint "$tmp/run" --data "$tmp/data" --output "$tmp/eval.json" \
  --predictions "$tmp/pred.csv" >"$tmp/eval.out" 2>"$tmp/eval.err" || { cat "$tmp/eval.err"; bad "eval failed"; }
cat "$tmp/eval.out"
check "eval prints accuracy, auc, loss, precision, recall, f1" \
  contains "$tmp/eval.out" "accuracy [0-9.]*  auc [0-9.]*  loss [0-9.]*  precision [0-9.]*  recall [0-9.]*  f1 [0-9.]*"
check "eval prints the confusion matrix" contains "$tmp/eval.out" "true positive  *[0-9]*  *[0-9]*$"
for key in accuracy auc loss precision recall f1 tp fp tn fn; do
  check "eval JSON has $key" contains "$tmp/eval.json" "\"$key\": *[0-9]"
done
cells=$(grep -o '"\(tp\|fp\|tn\|fn\)": *[0-9]*' "$tmp/eval.json" | sed 's/.*: *//' | paste -sd+ | bc)
check "confusion cells add up to the 200 test reviews ($cells)" test "$cells" -eq 200

# The heat map page: a test-set sample, and raw reviews full of HTML specials.
"$bin/distgru-predict" --checkpoint "$tmp/run" --data "$tmp/data" --sample 12 --html "$tmp/sample.html" \
  >"$tmp/sample.out" 2>&1 || { cat "$tmp/sample.out"; bad "predict --data --sample failed"; }
printf '%s\n' 'A <b>wonderful</b> film & "great" acting, I loved it.' \
  "Dreadful. Boring plot, awful acting -- a waste of time <script>alert('x')</script> qwzxv." >"$tmp/reviews.txt"
"$bin/distgru-predict" --checkpoint "$tmp/run" --vocab "$tmp/data/vocab.txt" --file "$tmp/reviews.txt" \
  --html "$tmp/reviews.html" >"$tmp/reviews.out" 2>&1 || { cat "$tmp/reviews.out"; bad "predict --file --html failed"; }
# The tokeniser drops < > & and quotes; the unit tests check the escaping itself.
check "markup in a review never reaches the page as markup" \
  bash -c "! grep -q -e '<b>wonderful</b> film' -e 'alert(' '$tmp/reviews.html'"
check "out-of-vocabulary words marked" contains "$tmp/reviews.html" 'class="tok oov"[^>]*>qwzxv<'
check "sampled reviews carry their true label" contains "$tmp/sample.html" "true label: \(positive\|negative\)"
check "padding shown as such" contains "$tmp/sample.html" "&lt;pad&gt; &times; [0-9]"
check "page fetches nothing" bash -c "! grep -q 'https\?://' '$tmp/sample.html' '$tmp/reviews.html'"

# A real browser, offline: it must load both pages without a console message,
# run the page's script (the "n of N shown" count), and take a screenshot.
browser() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --user-data-dir="$tmp/chromium" --enable-logging=stderr --v=0 "$@"
}
for page in sample reviews; do
  browser --dump-dom "file://$tmp/$page.html" >"$tmp/$page.dom" 2>"$tmp/$page.browser.log" ||
    bad "chromium failed on $page.html"
  check "$page.html: no console messages" bash -c "! grep -q CONSOLE '$tmp/$page.browser.log'"
  grep CONSOLE "$tmp/$page.browser.log" || true
  check "$page.html: the page's script ran" contains "$tmp/$page.dom" 'id="shown">[0-9]* of [0-9]* shown<'
  check "$page.html: shaded tokens present" contains "$tmp/$page.dom" 'class="tok" style="background:rgb(255,'
done
check "reviews.html: the review text is in the page" contains "$tmp/reviews.dom" "wonderful"
browser --screenshot="$tmp/sample.png" --window-size=1100,1400 "file://$tmp/sample.html" 2>/dev/null >&2 || true
check "screenshot taken" bash -c "head -c 8 '$tmp/sample.png' | od -c | grep -q 'P   N   G'"

# The report: scoring the test split itself (PNG), then from eval's CSV (SVG).
"$bin/distgru-report" --checkpoint-dir "$tmp/run" --format png >"$tmp/report.out" 2>"$tmp/report.err" ||
  { cat "$tmp/report.err"; bad "distgru-report failed"; }
for picture in training validation roc confusion; do
  check "report drew $picture.png" bash -c "head -c 8 '$tmp/run/report/$picture.png' | od -c | grep -q 'P   N   G'"
done
check "report index links every picture" test "$(grep -c '<img src=' "$tmp/run/report/index.html")" -eq 4
check "report's own scores agree with the run's test AUC" bash -c "! grep -q 'differs from test_metrics' '$tmp/report.err'"
"$bin/distgru-report" --checkpoint-dir "$tmp/run" --predictions "$tmp/pred.csv" --out "$tmp/report-svg" \
  >"$tmp/report2.out" 2>"$tmp/report2.err" || { cat "$tmp/report2.err"; bad "distgru-report --predictions failed"; }
check "report from eval's CSV draws SVG" contains "$tmp/report-svg/roc.svg" "<svg"
check "eval's CSV gives the same AUC as the run" bash -c "! grep -q 'differs from test_metrics' '$tmp/report2.err'"
browser --dump-dom "file://$tmp/run/report/index.html" >"$tmp/index.dom" 2>"$tmp/index.browser.log" || true
check "report index loads in the browser without console messages" bash -c "! grep -q CONSOLE '$tmp/index.browser.log'"
if [[ -n "${DISTGRU_KEEP_VIZ:-}" ]]; then mkdir -p "$DISTGRU_KEEP_VIZ" && cp -r "$tmp"/*.html "$tmp"/*.png "$tmp/run/report" "$DISTGRU_KEEP_VIZ"/; fi
finish
