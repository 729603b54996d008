"""A model's reference, as a config or a quantized.pt names it, and the one function that builds a
model from one: `{"kind": "registry", "name", "num_classes", "image_size", "kwargs"}` for a registered
model, `{"kind": "target", "target", "kwargs", "factory"}` for a user's class or function. The CLI
(teachers/source.py), the API and load_quantized (artifact.py) all build through `build_from_reference`,
whose target checks are models/trust.py's."""
from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any

import torch.nn as nn

from ..core.errors import UserError, did_you_mean
from ..config import USER_MODEL
from .registry import MODELS, create_model
from .trust import check_object, module_problem, refused

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _first_line(e: BaseException) -> str:
    return (str(e).splitlines() or [""])[0][:200]


def target_reference(target: str, kwargs: dict, factory: bool = False) -> dict:
    return {"kind": "target", "target": target, "kwargs": dict(kwargs or {}), "factory": bool(factory)}


class UserModel:
    """`+model=custom`: the class (or, with model.factory, the function) that model.target names, built
    with model.kwargs, which that class checks; its teacher is model.weights. Named by its class."""
    needs_weights = True

    def reference(self, name: str, model: Any, num_classes: int, image_size: int) -> dict:
        return target_reference(model.target, model.kwargs or {}, bool(model.factory))

    def label(self, name: str, model: Any) -> str:
        target = model.target
        return target.rsplit(".", 1)[-1] if isinstance(target, str) and target else str(name)

    def check(self, name: str, model: Any) -> None:
        return None


MODELS.register(USER_MODEL, UserModel())


def config_reference(model: Any, num_classes: int, image_size: int) -> dict:
    """The reference of a run's `model` settings (a config.ModelConfig)."""
    return MODELS[model.name].reference(model.name, model, num_classes, image_size)


def model_label(model: Any) -> str:
    """How a run's model is named in metrics.json, the summary line, W&B and the report: the registry
    name, or for `model=custom` the class (or factory function) that `model.target` names."""
    return MODELS[model.name].label(model.name, model)


def reference_of(obj: nn.Module) -> dict:
    """A reference to `obj`'s class, built again with no arguments (load_quantized(model=...) when
    the class needs some)."""
    cls = type(obj)
    return target_reference(f"{cls.__module__}.{cls.__qualname__}", {})


def resolve_target(target: Any, factory: bool = False, what: str = "model.target") -> Any:
    """The class (or, with `factory`, the function) `target` names, after models/trust.py allowed its
    module (before the import) and the object (before any call); a one-line UserError otherwise."""
    if not isinstance(target, str) or not _DOTTED.match(target):
        raise UserError(f"{what} must be a dotted path like my_pkg.my_mod.MyNet, got '{target}'")
    module_name, attr = target.rsplit(".", 1)
    if attr.startswith("_"):
        raise refused(what, target, f"'{attr}' is private")
    problem = module_problem(module_name)
    if problem:
        raise refused(what, target, problem)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # importable from the working directory, as documented
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # ImportError, and whatever the user's module raises at import (SyntaxError too)
        raise UserError(f"{what}: cannot import {module_name} ({type(e).__name__}: {_first_line(e)})") from None
    if not hasattr(module, attr):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise UserError(f"{what}: {module_name} has no '{attr}'{did_you_mean(attr, public)}")
    obj = getattr(module, attr)
    check_object(obj, target, factory, what)
    return obj


def _check_kwargs(kwargs: Any, what: str) -> dict:
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise UserError(f"{what}: model.kwargs must be a mapping of names to values, got {type(kwargs).__name__}")
    return dict(kwargs)


def build_user_model(target: str, kwargs: dict, factory: bool = False, what: str = "model.target") -> nn.Module:
    builder = resolve_target(target, factory, what)
    kwargs = _check_kwargs(kwargs, what)
    try:
        model = builder(**kwargs)
    except Exception as e:  # a bad keyword, or whatever the user's __init__ raises
        raise UserError(f"{what}: {target}(**model.kwargs) failed ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(model, nn.Module):
        raise UserError(f"{what}: {target} did not build a torch.nn.Module")
    return model


def build_from_reference(ref: Any, what: str = "model.target") -> nn.Module:
    """The architecture `ref` names, with random weights (`what`: how errors name the reference)."""
    kind = ref.get("kind") if isinstance(ref, dict) else None
    if kind == "registry":
        return create_model(str(ref.get("name")), num_classes=int(ref.get("num_classes", 10)),
                            image_size=int(ref.get("image_size", 32)),
                            **_check_kwargs(ref.get("kwargs") or {}, what))
    if kind == "target":
        return build_user_model(ref.get("target"), ref.get("kwargs") or {}, bool(ref.get("factory", False)), what)
    raise UserError(f"{what}: unknown model reference {ref!r}"[:300])
