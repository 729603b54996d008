"""QuantLayer: a Conv2d/Linear whose weights and input are fake-quantized."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .act import ActQuantizer
from .weight import WeightQuantizer


class QuantLayer(nn.Module):
    def __init__(self, module: nn.Module, w_bits: int, a_bits: Optional[int], p: float = 2.4):
        super().__init__()
        self.module = module
        self.weight_quantizer = WeightQuantizer(module.weight.detach(), w_bits, p)
        self.act_quantizer: Optional[ActQuantizer] = ActQuantizer(a_bits, p) if a_bits else None
        self.quantize_input = True  # False when an enclosing block quantizes this input for us
        self.use_weight_quant = True
        self.use_act_quant = True

    @torch.no_grad()
    def freeze(self) -> None:
        """Hard rounding, and the quantized weights computed once (after reconstruction, or for a
        layer no forward pass reaches)."""
        self.weight_quantizer.mode = "hard"
        self.weight_quantizer.freeze(self.module.weight)

    def quantized_weight(self) -> torch.Tensor:
        return self.weight_quantizer(self.module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_quantizer is not None and self.quantize_input and self.use_act_quant:
            x = self.act_quantizer(x)
        w = self.quantized_weight() if self.use_weight_quant else self.module.weight
        if isinstance(self.module, nn.Conv2d):
            return self.module._conv_forward(x, w, self.module.bias)
        return F.linear(x, w, self.module.bias)


def quant_layers(model: nn.Module) -> list[QuantLayer]:
    return [m for m in model.modules() if isinstance(m, QuantLayer)]


def act_quantizers(model: nn.Module) -> list[ActQuantizer]:
    """Every activation quantizer once (shared ones are one object)."""
    seen: dict[int, ActQuantizer] = {}
    for m in model.modules():
        if isinstance(m, ActQuantizer):
            seen.setdefault(id(m), m)
    return list(seen.values())


def set_quant_state(model: nn.Module, weight: bool = True, act: bool = True) -> None:
    for m in quant_layers(model):
        m.use_weight_quant, m.use_act_quant = weight, act
