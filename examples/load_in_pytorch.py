#!/usr/bin/python3
"""A model exported by distgru-export, in plain PyTorch: the network as a
torch.nn.Module, its weights from model.safetensors through
load_state_dict(strict=True), the tokeniser of distgru's data/README.md, and
predictions with every token's attention weight. Needs only torch (Debian's
python3-torch); no distgru code.

    /usr/bin/python3 examples/load_in_pytorch.py --model DIR --text "A wonderful film."
    /usr/bin/python3 examples/load_in_pytorch.py --model DIR --file reviews.txt --json
"""
import argparse
import json
import struct
import sys

import torch


class AttentionGRU(torch.nn.Module):
    """Embed -> bidirectional GRU -> attention MLP -> masked softmax over time
    -> attention-weighted sum -> linear. The attribute names are the
    parameter names of model.safetensors."""

    def __init__(self, m):
        super().__init__()
        self.mask_padding, self.pad_id = m["mask_padding"], 0
        self.masked_score = m["masked_score"]
        self.embedding = torch.nn.Embedding(m["vocab_size"], m["embed_dim"])
        self.encoder = torch.nn.GRU(m["embed_dim"], m["hidden_size"], batch_first=True, bidirectional=True)
        self.attention_hidden = torch.nn.Linear(2 * m["hidden_size"], m["attention_size"])
        self.attention_score = torch.nn.Linear(m["attention_size"], 1)
        self.classifier = torch.nn.Linear(2 * m["hidden_size"], m["num_classes"])

    def forward(self, tokens):  # tokens: int64 [batch, T]
        states, _ = self.encoder(self.embedding(tokens))  # [batch, T, 2H]
        scores = self.attention_score(torch.relu(self.attention_hidden(states))).squeeze(-1)
        if self.mask_padding:
            scores = scores.masked_fill(tokens.eq(self.pad_id), self.masked_score)
        attention = torch.softmax(scores, dim=1)  # [batch, T]
        context = torch.bmm(attention.unsqueeze(1), states).squeeze(1)
        return torch.softmax(self.classifier(context), dim=1), attention


def read_safetensors(path):
    """{name: tensor} from the format's 8-byte length, JSON header and raw data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = bytearray(data[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(raw, dtype=dtypes[entry["dtype"]]).reshape(entry["shape"]).clone()
    return tensors


class Tokenizer:
    """distgru's tokeniser and encoder (data/README.md), on bytes."""

    BREAKS = (b"<br />", b"<br/>", b"<br>")

    def __init__(self, vocab_path, t):
        with open(vocab_path, "rb") as f:
            lines = f.read().split(b"\n")
        # Word line k (after the header) holds id k + 3: 0 pad, 1 start, 2 oov.
        self.ids = {line.split(b"\t")[0]: k + t["index_offset"] + 1
                    for k, line in enumerate(lines[1:]) if line}
        self.t = t

    @staticmethod
    def words(text):
        out, word, i = [], bytearray(), 0

        def flush():
            w = bytes(word).strip(b"'")
            if w:
                out.append(w)
            word.clear()

        while i < len(text):
            c = text[i]
            if chr(c).isascii() and (chr(c).isalnum() or c == ord("'")) or c >= 0x80:
                word.append(c + 32 if 65 <= c <= 90 else c)
                i += 1
                continue
            flush()
            skip = next((len(b) for b in Tokenizer.BREAKS if c == ord("<") and text[i:i + len(b)].lower() == b), 0)
            i += skip or 1
        flush()
        return out

    def encode(self, text):
        t, words = self.t, self.words(text)
        room = t["sentence_size"] - 1
        head = {"start": room, "end": 0, "head-tail": room // 4}[t["truncation"]]
        kept = words if len(words) <= room else words[:head] + words[len(words) - (room - head):]
        ids = [t["start_id"]] + [self.ids.get(w, t["oov_id"]) for w in kept]
        return ids + [t["pad_id"]] * (t["sentence_size"] - len(ids)), [b"<start>"] + kept


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a folder written by distgru-export")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one review")
    source.add_argument("--file", help="one review per line")
    parser.add_argument("--json", action="store_true", help="one JSON object per review")
    args = parser.parse_args()

    with open(f"{args.model}/config.json") as f:
        config = json.load(f)
    model = AttentionGRU(config["model"])
    model.load_state_dict(read_safetensors(f"{args.model}/model.safetensors"), strict=True)
    model.eval()
    tokenizer = Tokenizer(f"{args.model}/{config['vocabulary']['file']}", config["tokenizer"])

    if args.text is not None:
        reviews = [(0, args.text.encode("utf-8"))]
    else:
        with open(args.file, "rb") as f:
            reviews = list(enumerate(f.read().split(b"\n"), start=1))
        if reviews and reviews[-1][1] == b"":
            reviews.pop()  # the newline that ends the last line
    for number, text in reviews:
        if not Tokenizer.words(text):
            print(json.dumps({"line": number, "error": "empty review: no words to classify"}) if args.json
                  else f"line {number}: empty review: no words to classify")
            continue
        ids, words = tokenizer.encode(text)
        with torch.no_grad():
            probabilities, attention = model(torch.tensor([ids]))
        positive = probabilities[0, 1].item()
        weights = attention[0, :len(words)].tolist()
        if args.json:
            print(json.dumps({"line": number, "positive_probability": positive, "ids": ids,
                              "tokens": [{"token": w.decode("utf-8", "replace"), "attention": a}
                                         for w, a in zip(words, weights)]}))
        else:
            label = "positive" if positive >= 0.5 else "negative"
            print(f"{label} {max(positive, 1 - positive):.4f}: " +
                  " ".join(f"{w.decode('utf-8', 'replace')}:{a:.3f}" for w, a in zip(words, weights)))


if __name__ == "__main__":
    sys.exit(main())
