"""A timm-style model registry (core/registry.py's shape, as every registry here): one entry per name
that `model=` / `+model=` accepts. `@register_model` on a factory adds an `Architecture` (built by
name, `create_model(name, ...)`); models/reference.py adds `custom`, the user's own class. Each entry
says how the run names its model, builds its reference and where its teacher comes from, so no caller
compares model names."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch.nn as nn

from ..core.errors import UserError, did_you_mean
from ..core.registry import Registry


@dataclass(frozen=True)
class Architecture:
    """A model built by name: `factory(num_classes, image_size, **model.kwargs)`; its teacher ships in
    the zoo, comes from the library (ImageNet) or is trained on first use."""
    factory: Callable[..., nn.Module]
    needs_weights = False  # model.weights is optional

    def reference(self, name: str, model: Any, num_classes: int, image_size: int) -> dict:
        return {"kind": "registry", "name": str(name), "num_classes": int(num_classes), "image_size": int(image_size),
                "kwargs": dict(model.kwargs or {})}

    def label(self, name: str, model: Any) -> str:
        return str(name)

    def check(self, name: str, model: Any) -> None:
        check_model_kwargs(name, dict(model.kwargs or {}))


MODELS: Registry[Any] = Registry("model")


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a factory `fn(num_classes, image_size, **kwargs) -> nn.Module` under its name."""
    MODELS.register(fn.__name__, Architecture(fn))
    return fn


def list_models() -> list[str]:
    """The architectures built by name (not `custom`)."""
    return sorted(n for n, e in MODELS.items() if isinstance(e, Architecture))


def model_names() -> list[str]:
    """Every name `+model=` accepts."""
    return sorted(MODELS)


def registered_factory(name: str) -> Callable[..., nn.Module] | None:
    entry = MODELS.get(name)
    return entry.factory if isinstance(entry, Architecture) else None


def model_options(name: str) -> list[str]:
    """The keywords `name`'s factory takes besides num_classes and image_size (model.kwargs)."""
    params = inspect.signature(_architecture(name).factory).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in ("num_classes", "image_size")]


def _architecture(name: str) -> Architecture:
    if name not in MODELS or not isinstance(MODELS[name], Architecture):
        hint = " (built from model.target, not by name)" if name in MODELS else did_you_mean(name, list_models())
        raise UserError(f"unknown model '{name}'{hint} (choose from: {', '.join(list_models())})")
    return MODELS[name]


def check_model_kwargs(name: str, kwargs: dict) -> None:
    """Every key of model.kwargs is a keyword of the model's factory: its **_ would swallow a typo, and
    the fingerprint would record a setting that did nothing."""
    _architecture(name)
    valid = model_options(name)
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise UserError(f"model.kwargs.{unknown[0]}: {name} takes no such keyword{did_you_mean(unknown[0], valid)} "
                        f"(valid: {', '.join(valid) if valid else 'none'})")


def create_model(name: str, num_classes: int = 10, image_size: int = 32, **kwargs) -> nn.Module:
    check_model_kwargs(name, kwargs)
    return _architecture(name).factory(num_classes=num_classes, image_size=image_size, **kwargs)
