// model.onnx of distgru-export in ONNX Runtime (onnxruntime-node), on the
// token ids of `distgru-predict --json` (its "ids": the review tokenised
// and padded as the model reads it; data/README.md describes the tokeniser
// for other languages). Prints P(positive) from ONNX Runtime beside
// distgru's, and the three tokens with the most attention.
//   distgru-predict --checkpoint MODEL_DIR --text "..." --json |
//     NODE_PATH=tests/tools/node_modules node examples/onnx_runtime_predict.js MODEL_DIR/model.onnx
const fs = require("fs");
const ort = require("onnxruntime-node");

async function main() {
  const session = await ort.InferenceSession.create(process.argv[2]);
  const rows = fs.readFileSync(0, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  for (const r of rows) {
    const T = r.ids.length;
    const tokens = new ort.Tensor("int64", BigInt64Array.from(r.ids.map(BigInt)), [1, T]);
    const { probabilities, attention } = await session.run({ tokens });  // [1, 2], [1, T]
    const top = r.tokens.map((t, i) => [attention.data[i], t.token]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    console.log(`P(positive) ${probabilities.data[1].toFixed(6)} (distgru ${r.positive_probability.toFixed(6)}); ` +
                `most attention: ${top.map(([w, t]) => `${t} ${w.toFixed(3)}`).join(", ")}`);
  }
}
main().catch((e) => { console.error(e.message || e); process.exit(1); });
