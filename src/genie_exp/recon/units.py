"""Reconstruction units: the residual / inverted-residual blocks of known architectures (by class
name), user-named blocks (`model.blocks`), and every Conv/Linear outside a block as its own unit.
An unknown architecture simply yields layer units."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn as nn

# torchvision: ResNet BasicBlock/Bottleneck, MobileNetV2 InvertedResidual, MNASNet _InvertedResidual,
# RegNet ResBottleneckBlock; timm: the same ResNet names, EfficientNet-family InvertedResidual and
# DepthwiseSeparableConv (MnasNet / MobileNetV2 in timm), RegNet Bottleneck.
BLOCK_CLASSES = frozenset({"BasicBlock", "Bottleneck", "InvertedResidual", "_InvertedResidual",
                           "ResBottleneckBlock", "DepthwiseSeparableConv"})
LAYER_TYPES = (nn.Conv2d, nn.Linear)


@dataclass
class Unit:
    name: str
    module: nn.Module
    kind: str  # "block" | "layer"


def is_block(module: nn.Module, extra: Iterable[str] = ()) -> bool:
    name = type(module).__name__
    return name in BLOCK_CLASSES or name in set(extra)


def _contains_layer(module: nn.Module, layer_types) -> bool:
    return any(isinstance(m, layer_types) for m in module.modules())


def find_units(model: nn.Module, extra_blocks: Iterable[str] = (), layer_types=LAYER_TYPES) -> list[Unit]:
    """Units in module-definition order (the runner re-sorts them by execution order)."""
    extra = tuple(extra_blocks)
    units: list[Unit] = []

    def walk(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            full = f"{prefix}.{name}" if prefix else name
            if is_block(child, extra) and _contains_layer(child, layer_types):
                units.append(Unit(full, child, "block"))
            elif isinstance(child, layer_types):
                units.append(Unit(full, child, "layer"))
            else:
                walk(child, full)

    walk(model, "")
    return units


@torch.no_grad()
def execution_order(model: nn.Module, example: torch.Tensor, modules: dict[str, nn.Module]) -> list[str]:
    """Names of `modules` sorted by when each first runs in a forward pass."""
    order: list[str] = []
    hooks = [m.register_forward_pre_hook(lambda _m, _a, n=n: order.append(n) if n not in order else None)
             for n, m in modules.items()]
    try:
        model(example)
    finally:
        for h in hooks:
            h.remove()
    return order + [n for n in modules if n not in order]  # never-run modules last
