"""The quantizers by name (`quantizer=genie | adaround | rtn`): a registry, so what a method does is
read from its entry and a new method is one entry (plus its code) here."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.registry import Registry


@dataclass(frozen=True)
class QuantMethod:
    reconstruct: bool  # block-wise reconstruction after rounding to nearest
    learn_weight_step: bool  # the weight steps learned jointly with the rounding (Genie-M)


METHODS: Registry[QuantMethod] = Registry("quantizer")
METHODS.register("genie", QuantMethod(reconstruct=True, learn_weight_step=True))  # Genie-M
METHODS.register("adaround", QuantMethod(reconstruct=True, learn_weight_step=False))  # BRECQ + QDrop, steps fixed
METHODS.register("rtn", QuantMethod(reconstruct=False, learn_weight_step=False))  # nearest, grid-searched steps


def quant_method(name: str) -> QuantMethod:
    return METHODS[name]
