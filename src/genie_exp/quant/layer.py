"""QuantLayer: a Conv2d/Linear whose weights and input are fake-quantized."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .act import ActQuantizer
from .weight import WeightQuantizer


SWITCHES = ("quantize_input", "use_weight_quant", "use_act_quant")


class QuantLayer(nn.Module):
    """`quantize_input` (False when an enclosing block quantizes this input for us) and the two
    switches of set_quant_state decide the output: they are the `switches` buffer (in state_dict),
    mirrored in Python attributes."""

    def __init__(self, module: nn.Module, w_bits: int, a_bits: Optional[int], p: float = 2.4,
                 act_grid: str = "symmetric"):
        super().__init__()
        self.module = module
        self.weight_quantizer = WeightQuantizer(module.weight.detach(), w_bits, p)
        self.act_quantizer: Optional[ActQuantizer] = ActQuantizer(a_bits, p, act_grid) if a_bits else None
        self.register_buffer("switches", torch.ones(len(SWITCHES), dtype=torch.bool))
        self._switch = dict.fromkeys(SWITCHES, True)

    def __getattr__(self, name: str):
        if name in SWITCHES:
            return self.__dict__["_switch"][name]
        return super().__getattr__(name)

    def __setattr__(self, name: str, value) -> None:
        if name in SWITCHES:
            self._switch[name] = bool(value)
            self.switches[SWITCHES.index(name)] = bool(value)
        else:
            super().__setattr__(name, value)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._switch = dict(zip(SWITCHES, (bool(v) for v in self.switches.tolist())))

    @torch.no_grad()
    def freeze(self) -> None:
        """Hard rounding, and the quantized weights computed once (after reconstruction, or for a
        layer no forward pass reaches)."""
        self.weight_quantizer.mode = "hard"
        self.weight_quantizer.freeze(self.module.weight)

    def quantized_weight(self) -> torch.Tensor:
        return self.weight_quantizer(self.module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sw = self._switch
        if self.act_quantizer is not None and sw["quantize_input"] and sw["use_act_quant"]:
            x = self.act_quantizer(x)
        w = self.quantized_weight() if sw["use_weight_quant"] else self.module.weight
        if isinstance(self.module, nn.Conv2d):
            return self.module._conv_forward(x, w, self.module.bias)
        return F.linear(x, w, self.module.bias)


def quant_layers(model: nn.Module) -> list[QuantLayer]:
    return [m for m in model.modules() if isinstance(m, QuantLayer)]


def act_quantizers(model: nn.Module) -> list[ActQuantizer]:
    """Every activation quantizer once: modules() yields a shared one once."""
    return [m for m in model.modules() if isinstance(m, ActQuantizer)]


def set_quant_state(model: nn.Module, weight: bool = True, act: bool = True) -> None:
    for m in quant_layers(model):
        m.use_weight_quant, m.use_act_quant = weight, act
