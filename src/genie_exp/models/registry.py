"""A timm-style model registry: `@register_model` on a factory, `create_model(name, ...)` to build."""
from __future__ import annotations

from typing import Callable, Dict

import torch.nn as nn

from ..core.errors import UserError

_FACTORIES: Dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a factory `fn(num_classes, image_size, **kwargs) -> nn.Module` under its name."""
    _FACTORIES[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    return sorted(_FACTORIES)


def create_model(name: str, num_classes: int = 10, image_size: int = 32, **kwargs) -> nn.Module:
    if name not in _FACTORIES:
        raise UserError(f"unknown model '{name}' (choose from: {', '.join(list_models())})")
    return _FACTORIES[name](num_classes=num_classes, image_size=image_size, **kwargs)
