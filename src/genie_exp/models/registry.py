"""A timm-style model registry: `@register_model` on a factory, `create_model(name, ...)` to build
(core/registry.py's shape, as every registry here)."""
from __future__ import annotations

import inspect
from typing import Callable

import torch.nn as nn

from ..core.errors import UserError, did_you_mean
from ..core.registry import Registry

_FACTORIES: Registry[Callable[..., nn.Module]] = Registry("model")


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a factory `fn(num_classes, image_size, **kwargs) -> nn.Module` under its name."""
    return _FACTORIES.register(fn.__name__, fn)


def list_models() -> list[str]:
    return sorted(_FACTORIES)


def model_options(name: str) -> list[str]:
    """The keywords `name`'s factory takes besides num_classes and image_size (model.kwargs)."""
    params = inspect.signature(_FACTORIES[name]).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in ("num_classes", "image_size")]


def check_model_kwargs(name: str, kwargs: dict) -> None:
    """Every key of model.kwargs is a keyword of the model's factory: its **_ would swallow a typo, and
    the fingerprint would record a setting that did nothing."""
    if name not in _FACTORIES:
        raise UserError(f"unknown model '{name}'{did_you_mean(name, list_models())} (choose from: "
                        f"{', '.join(list_models())})")
    valid = model_options(name)
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise UserError(f"model.kwargs.{unknown[0]}: {name} takes no such keyword{did_you_mean(unknown[0], valid)} "
                        f"(valid: {', '.join(valid) if valid else 'none'})")


def create_model(name: str, num_classes: int = 10, image_size: int = 32, **kwargs) -> nn.Module:
    check_model_kwargs(name, kwargs)
    return _FACTORIES[name](num_classes=num_classes, image_size=image_size, **kwargs)
