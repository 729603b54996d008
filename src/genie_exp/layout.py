"""channels_last (NHWC) memory layout for a stage: oneDNN and cuDNN convolutions run faster in it
(measured in experiments/bench); the values computed are the same. Models go back to the default
layout afterwards, so checkpoints and later stages see what they always saw."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn


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
