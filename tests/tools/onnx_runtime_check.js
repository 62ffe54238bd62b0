// Runs an exported model.onnx in ONNX Runtime (onnxruntime-node: Microsoft's
// runtime, no distgru code) on the token ids of `distgru-predict --json`
// lines, and compares its probabilities and attention weights with
// distgru's. Prints the largest differences; exits 1 above the tolerance.
//   node onnx_runtime_check.js MODEL.onnx PREDICTIONS.jsonl [TOLERANCE]
const fs = require("fs");
const ort = require("onnxruntime-node");

async function main() {
  const [model, predictions, tolArg] = process.argv.slice(2);
  const tolerance = tolArg ? Number(tolArg) : 1e-5;
  const rows = fs.readFileSync(predictions, "utf8").split("\n").filter((l) => l.trim())
    .map((l) => JSON.parse(l)).filter((r) => r.ids);
  if (rows.length === 0) throw new Error(`${predictions}: no predictions with ids`);
  const session = await ort.InferenceSession.create(model);
  const T = rows[0].ids.length;
  const batch = 50;
  let maxProb = 0, maxAttention = 0, compared = 0;
  for (let start = 0; start < rows.length; start += batch) {
    const chunk = rows.slice(start, start + batch);
    const ids = BigInt64Array.from(chunk.flatMap((r) => r.ids.map((v) => BigInt(v))));
    const out = await session.run({ tokens: new ort.Tensor("int64", ids, [chunk.length, T]) });
    const probs = out.probabilities.data, attention = out.attention.data;
    chunk.forEach((r, b) => {
      maxProb = Math.max(maxProb, Math.abs(probs[2 * b + 1] - r.positive_probability));
      r.tokens.forEach((t, i) => {
        maxAttention = Math.max(maxAttention, Math.abs(attention[b * T + i] - t.attention));
      });
      compared += 1;
    });
  }
  console.log(`onnxruntime ${ort.env.versions.node}: ${compared} reviews, ` +
              `max |P(positive) difference| ${maxProb.toExponential(2)}, ` +
              `max |attention difference| ${maxAttention.toExponential(2)} (tolerance ${tolerance})`);
  process.exit(maxProb <= tolerance && maxAttention <= tolerance ? 0 : 1);
}
main().catch((e) => { console.error(e.message || e); process.exit(2); });
