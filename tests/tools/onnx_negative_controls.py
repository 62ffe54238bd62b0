#!/usr/bin/python3
"""Writes two deliberately wrong copies of an exported model.onnx, with
Debian's python3-onnx (no distgru code), so the test can show that ONNX
Runtime's check catches the mistakes an exporter makes most:
  OUT/wrong_gate_order.onnx     the GRU's gates left in PyTorch's order (r, z, n)
  OUT/no_linear_before_reset.onnx  the GRU with linear_before_reset = 0
Also runs onnx.checker on the original (full check, shape inference).

    onnx_negative_controls.py MODEL.onnx OUT_DIR
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main(model_path, out_dir):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    print(f"onnx.checker: {model_path} is valid (opset {model.opset_import[0].version})")

    wrong = onnx.load(model_path)
    gru = next(n for n in wrong.graph.node if n.op_type == "GRU")
    hidden = next(a.i for a in gru.attribute if a.name == "hidden_size")
    for init in wrong.graph.initializer:
        if init.name in ("gru.W", "gru.R", "gru.B"):
            a = numpy_helper.to_array(init).copy()
            halves = [a[:, :3 * hidden], a[:, 3 * hidden:]] if init.name == "gru.B" else [a]
            for h in halves:  # z, r, h back to r, z, n: swap the first two blocks
                z = h[:, :hidden].copy()
                h[:, :hidden] = h[:, hidden:2 * hidden]
                h[:, hidden:2 * hidden] = z
            init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(a), init.name))
    onnx.save(wrong, f"{out_dir}/wrong_gate_order.onnx")

    no_lbr = onnx.load(model_path)
    gru = next(n for n in no_lbr.graph.node if n.op_type == "GRU")
    next(a for a in gru.attribute if a.name == "linear_before_reset").i = 0
    onnx.save(no_lbr, f"{out_dir}/no_linear_before_reset.onnx")
    print(f"wrote {out_dir}/wrong_gate_order.onnx and {out_dir}/no_linear_before_reset.onnx")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
