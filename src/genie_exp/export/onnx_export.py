"""The quantized model as a standard ONNX graph in QCDQ form: activations QuantizeLinear -> Clip(the
b-bit range) -> DequantizeLinear, weights as integer codes (uint8 initializers) -> DequantizeLinear
per output channel. Sub-8-bit settings are thereby exact in ONNX; 8-bit ones need no Clip and are plain
QDQ. Needs the optional `export` dependencies (onnx, onnxscript; onnxruntime to check)."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..core.extras import require
from .view import export_view

OPSET = 18
FULL_RANGES = ((-128, 127), (0, 255))


def _translations() -> dict:
    require("onnx", "ONNX export")
    op = require("onnxscript", "ONNX export").opset18

    def qcdq(x, scale, zero_point, lo: int, hi: int):
        q = op.QuantizeLinear(x, scale, zero_point)
        if (lo, hi) not in FULL_RANGES:  # sub-8-bit: the b-bit range inside the 8-bit container
            q = op.Clip(q, op.CastLike(lo, zero_point), op.CastLike(hi, zero_point))
        return op.DequantizeLinear(q, scale, zero_point)

    def dequant(codes, scale, zero_point):
        return op.DequantizeLinear(codes, scale, zero_point, axis=0)

    return {torch.ops.genie_exp.qcdq.default: qcdq, torch.ops.genie_exp.dequant.default: dequant}


def export_onnx(student: nn.Module, input_shape: list[int], out: Path) -> Path:
    """Write `student` to `out` (batch dimension dynamic)."""
    table = _translations()
    view = export_view(student)
    example = torch.zeros(2, *input_shape)
    batch = torch.export.Dim("batch", min=1)
    program = torch.onnx.export(view, (example,), dynamo=True, custom_translation_table=table,
                                opset_version=OPSET, input_names=["images"], output_names=["logits"],
                                dynamic_shapes=({0: batch},), verbose=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(out))
    return out
