"""Pretrained ImageNet weights from torchvision / timm (their own download caches)."""
from __future__ import annotations

import torch.nn as nn

from ..errors import UserError


def load_library_weights(model: nn.Module, name: str) -> None:
    raise UserError(f"no library weights are known for '{name}' on imagenet; pass model.weights=PATH "
                    f"or model.pretrained=false")
