"""An export view of a quantized student: every QuantLayer and activation quantizer replaced by a
module that only calls the ops of ops.py (no Python branches on tensors, no training state), so that
torch.export can trace it. The student itself is not changed."""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..quant.act import ActQuantizer
from ..quant.grid import act_levels
from ..quant.layer import QuantLayer
from . import ops  # noqa: F401  (registers torch.ops.genie_exp.*)


class ExportAct(nn.Module):
    def __init__(self, q: ActQuantizer):
        super().__init__()
        self.active = q.is_initialized
        lo, hi = q.levels()
        self.register_buffer("scale", q.scale.detach().float().reshape(()).clone())
        if (lo, hi) == act_levels(q.bits, True) or lo == 0:  # symmetric signed (int8) or unsigned (uint8)
            self.lo, self.hi = lo, hi
            self.register_buffer("zero_point", torch.tensor(0, dtype=torch.int8 if lo < 0 else torch.uint8))
        else:  # a grid with its zero inside: uint8 codes 0 .. 2^bits - 1 around zero point -lo
            self.lo, self.hi = 0, hi - lo
            self.register_buffer("zero_point", torch.tensor(-lo, dtype=torch.uint8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.active:
            return x
        return torch.ops.genie_exp.qcdq(x, self.scale, self.zero_point, self.lo, self.hi)


class ExportLayer(nn.Module):
    def __init__(self, layer: QuantLayer, act: ExportAct | None):
        super().__init__()
        m, q = layer.module, layer.weight_quantizer
        self.conv = copy.deepcopy(m) if isinstance(m, nn.Conv2d) else None
        if self.conv is not None:
            del self.conv.weight  # the weights are the codes below
        self.act = act if layer.quantize_input and layer.use_act_quant else None
        with torch.no_grad():
            codes = q.integer_codes(m.weight).round().to(torch.uint8)
        self.register_buffer("codes", codes)
        self.register_buffer("scale", q.scale.detach().flatten().float().clone())
        self.register_buffer("zero_point", q.zero_point.detach().flatten().round().to(torch.uint8))
        self.bias = None if m.bias is None else nn.Parameter(m.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act is not None:
            x = self.act(x)
        w = torch.ops.genie_exp.dequant(self.codes, self.scale, self.zero_point)
        y = F.linear(x, w) if self.conv is None else self.conv._conv_forward(x, w, None)
        if self.bias is None:
            return y
        # the bias as an Add of its own: onnxruntime re-quantizes a float bias that sits in the Conv (or
        # Gemm) to int32 at the step s_input x s_weight, which at 4 bits moved the gates' squeeze convs
        # by a code (experiments/modern_blocks/README.md, "ONNX")
        return y + (self.bias if self.conv is None else self.bias.view(1, -1, 1, 1))


def export_view(student: nn.Module) -> nn.Module:
    """A copy of `student` made of Export* modules; a shared activation quantizer stays shared."""
    view = copy.deepcopy(student).cpu().eval()
    acts: dict[int, ExportAct] = {}

    def act_for(q):
        if q is None:
            return None
        if id(q) not in acts:
            acts[id(q)] = ExportAct(q)
        return acts[id(q)]

    for name, m in list(view.named_modules()):
        if isinstance(m, QuantLayer):
            parent, _, child = name.rpartition(".")
            setattr(view.get_submodule(parent) if parent else view, child, ExportLayer(m, act_for(m.act_quantizer)))
    for m in view.modules():  # blocks quantize their input once, through a pre-hook on `input_quantizer`
        if isinstance(getattr(m, "input_quantizer", None), ActQuantizer):
            m.input_quantizer = act_for(m.input_quantizer)
    return view
