"""Swing convolution: during distillation every strided conv sees its input shifted by a random
offset in [-1, 1] pixels per axis (reflect-pad by 1, random crop back), which removes the aliasing
artefacts strided convs leave in synthetic images. Installed as removable pre-hooks only."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F


def _swing(module: nn.Conv2d, args):
    x = args[0]
    h, w = x.shape[-2:]
    dy, dx = torch.randint(0, 3, (2,)).tolist()  # a fresh offset per forward
    x = F.pad(x, (1, 1, 1, 1), mode="reflect")[..., dy:dy + h, dx:dx + w]
    return (x,) + tuple(args[1:])


def strided_convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d) and max(m.stride) > 1]


@contextmanager
def swing_convolution(model: nn.Module, enabled: bool = True) -> Iterator[list[nn.Conv2d]]:
    """Within the block, every strided conv of `model` swings; afterwards the model is as before."""
    convs = strided_convs(model) if enabled else []
    handles = [c.register_forward_pre_hook(_swing) for c in convs]
    try:
        yield convs
    finally:
        for h in handles:
            h.remove()
