// Reads TensorBoard event files with nothing of distgru's: the TFRecord
// framing by hand, every length and record checked with CRC-32C
// (@aws-crypto/crc32c) under TensorFlow's mask, and the Event messages
// decoded by protobufjs from the field numbers of TensorBoard's own protos,
// restated here. Then every scalar is compared with the run's metrics.jsonl.
//   node read_tensorboard.js TB_DIR METRICS.jsonl
// Exits 0 when every record is whole and every value agrees; 1 otherwise.
const fs = require("fs");
const path = require("path");
const protobuf = require("protobufjs");
const { crc32c } = require("@aws-crypto/crc32c");

// tensorboard/compat/proto/{event,summary,tensor,tensor_shape}.proto, the fields read here.
const root = protobuf.Root.fromJSON({
  nested: {
    TensorShapeProto: { fields: {} },
    TensorProto: { fields: { dtype: { type: "int32", id: 1 }, stringVal: { rule: "repeated", type: "bytes", id: 8 } } },
    PluginData: { fields: { pluginName: { type: "string", id: 1 } } },
    SummaryMetadata: { fields: { pluginData: { type: "PluginData", id: 1 } } },
    Value: {
      fields: {
        tag: { type: "string", id: 1 },
        simpleValue: { type: "float", id: 2 },
        tensor: { type: "TensorProto", id: 8 },
        metadata: { type: "SummaryMetadata", id: 9 },
      },
    },
    Summary: { fields: { value: { rule: "repeated", type: "Value", id: 1 } } },
    Event: {
      fields: {
        wallTime: { type: "double", id: 1 },
        step: { type: "int64", id: 2 },
        fileVersion: { type: "string", id: 3 },
        summary: { type: "Summary", id: 5 },
      },
    },
  },
});
const Event = root.lookupType("Event");

const masked = (bytes) => {
  const crc = crc32c(bytes) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
};

function readEvents(file) {
  const data = fs.readFileSync(file);
  const events = [];
  for (let at = 0; at < data.length;) {
    if (at + 12 > data.length) throw new Error(`${file}: truncated record header at byte ${at}`);
    const lengthBytes = data.subarray(at, at + 8);
    if (masked(lengthBytes) !== data.readUInt32LE(at + 8)) throw new Error(`${file}: CRC mismatch on the length at byte ${at}`);
    const length = Number(data.readBigUInt64LE(at));
    const body = data.subarray(at + 12, at + 12 + length);
    if (body.length !== length || at + 16 + length > data.length) throw new Error(`${file}: truncated record at byte ${at}`);
    if (masked(body) !== data.readUInt32LE(at + 12 + length)) throw new Error(`${file}: CRC mismatch on the record at byte ${at}`);
    events.push(Event.decode(body));
    at += 16 + length;
  }
  return events;
}

function main() {
  const [dir, metricsPath] = process.argv.slice(2);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents.")).sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`${dir}: no event files`);
  // metrics.jsonl: the last record of each (kind, step) wins, as a resumed run repeats steps.
  const expected = new Map();
  for (const line of fs.readFileSync(metricsPath, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (r.provenance) continue;
    if (r.split) {
      for (const k of ["accuracy", "auc", "loss"]) expected.set(`${r.split}/${k}@${r.step}`, r[k]);
    } else {
      expected.set(`train/loss@${r.step}`, r.loss);
      expected.set(`train/learning_rate@${r.step}`, r.lr);
      expected.set(`train/samples_per_sec@${r.step}`, r.samples_per_sec);
    }
  }
  let records = 0, scalars = 0, compared = 0, texts = 0, lastStep = -1;
  const problems = [];
  for (const file of files) {
    const events = readEvents(file);
    records += events.length;
    if (events[0].fileVersion !== "brain.Event:2") problems.push(`${file}: first record is not file_version brain.Event:2`);
    for (const e of events.slice(1)) {
      const step = Number(e.step);
      for (const v of (e.summary && e.summary.value) || []) {
        if (v.metadata && v.metadata.pluginData && v.metadata.pluginData.pluginName === "text") {
          texts += 1;
          continue;
        }
        scalars += 1;
        if (v.tag.startsWith("train/") && v.tag === "train/loss") {
          if (step <= lastStep) problems.push(`${file}: train/loss step ${step} after step ${lastStep}`);
          lastStep = step;
        }
        const want = expected.get(`${v.tag}@${step}`);
        if (want === undefined) continue;  // gradient norm and sync share are TensorBoard's only
        compared += 1;
        if (Math.abs(v.simpleValue - Math.fround(want)) > 1e-6 * Math.max(1, Math.abs(want))) {
          problems.push(`${v.tag} at step ${step}: ${v.simpleValue} in the event file, ${want} in metrics.jsonl`);
        }
      }
    }
  }
  console.log(`${files.length} event file(s), ${records} records, every CRC right; ${scalars} scalars, ` +
              `${compared} compared with metrics.jsonl, ${texts} text summaries; train/loss steps rising`);
  for (const p of problems.slice(0, 10)) console.log(`problem: ${p}`);
  process.exit(problems.length === 0 && compared > 0 && texts === files.length ? 0 : 1);
}

try {
  main();
} catch (e) {
  console.log(`error: ${e.message}`);
  process.exit(1);
}
