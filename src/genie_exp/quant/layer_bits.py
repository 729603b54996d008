"""Per-layer bits (`quant.layer_bits`): a map from a layer name or an fnmatch glob to the bits of its
weights and/or its input, {"w": BITS, "a": BITS}, on top of the first/last-layer and gate rules (the
map wins; later patterns win over earlier ones). A layer whose input stays FP (the image, without
quant.quantize_image) keeps it FP. Where a block quantizes its input once for all the layers that read
it, that shared quantizer has the bits of its owner (convert.py)."""
from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Iterable, Optional

import torch.nn as nn

from ..config import check_layer_bits
from ..core.errors import UserError

__all__ = ["bits_for", "check_all_match", "check_layer_bits", "layer_bits_of", "matches"]


def bits_for(name: str, w: int, a: Optional[int], layer_bits: dict) -> tuple[int, Optional[int]]:
    """The weight and input bits of layer `name` after the map (a None input stays None)."""
    for pattern, spec in layer_bits.items():
        if fnmatchcase(name, pattern):
            w = spec.get("w", w)
            a = spec.get("a", a) if a is not None else None
    return w, a


def matches(name: str, layer_bits: dict) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in layer_bits)


def check_all_match(layer_bits: dict, names: Iterable[str]) -> None:
    """Every pattern names at least one layer: a typo would otherwise leave the model as it was."""
    names = list(names)
    for pattern in layer_bits:
        if not any(fnmatchcase(n, pattern) for n in names):
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            raise UserError(f"quant.layer_bits: '{pattern}' matches no quantized layer (the layers: {shown})")


def layer_bits_of(student: nn.Module) -> dict[str, dict]:
    """What metrics.json records per quantized layer: its weight bits, input bits (None: FP input or
    quantized by the enclosing block's shared quantizer, whose bits the block's owner layer has) and
    number of weights."""
    from .layer import QuantLayer

    out = {}
    for name, m in student.named_modules():
        if isinstance(m, QuantLayer):
            act = m.act_quantizer
            out[name] = {"w": int(m.weight_quantizer.bits), "a": None if act is None else int(act.bits),
                         "weights": int(m.module.weight.numel())}
    return out
