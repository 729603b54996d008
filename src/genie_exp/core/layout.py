"""channels_last (NHWC) memory layout for a stage: oneDNN and cuDNN convolutions run faster in it
(measured in experiments/bench); the values computed are the same. Models go back to the default
layout afterwards, so checkpoints and later stages see what they always saw."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn


def nhwc_safe(*models: nn.Module) -> bool:
    """False when a model has a strided 1x1 conv reading fewer than 8 channels: on the CPU, oneDNN's
    NHWC weight gradient of such a conv corrupts memory with one thread (torch 2.14.1, AVX2; seen as
    'double free or corruption' or a segfault; experiments/bench/README.md has the 6-line repro)."""
    for m in models:
        for c in m.modules():
            if isinstance(c, nn.Conv2d) and c.kernel_size == (1, 1) and max(c.stride) > 1 and c.in_channels < 8:
                return False
    return True


def use_nhwc(enabled: bool, *models: nn.Module) -> bool:
    """Whether a stage runs NHWC: asked for, and safe for these models (see nhwc_safe)."""
    return bool(enabled) and nhwc_safe(*models)


def to_layout(x: torch.Tensor, enabled: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if enabled and x.dim() == 4 else x


@contextmanager
def channels_last(*models: nn.Module, enabled: bool = True) -> Iterator[None]:
    """Within the block the models' 4-D parameters and buffers are NHWC (when `enabled`)."""
    if not enabled:
        yield
        return
    for m in models:
        m.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        for m in models:
            m.to(memory_format=torch.contiguous_format)
