"""A user's own model class (`+model=custom model.target=pkg.mod.Class`): resolved and checked before
anything is called, so a config can name a model class and nothing else."""
from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import torch.nn as nn

from ..core.errors import UserError


def _first_line(e: BaseException) -> str:
    return (str(e).splitlines() or [""])[0][:200]


def resolve_target(target: Any, factory: bool = False) -> Any:
    """The class (or, with `factory`, the function) `target` names; a one-line UserError otherwise."""
    if not isinstance(target, str) or "." not in target:
        raise UserError(f"model.target must be a dotted path like my_pkg.my_mod.MyNet, got '{target}'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # importable from the working directory, as documented
    module_name, attr = target.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # ImportError, and whatever the user's module raises at import (SyntaxError too)
        raise UserError(f"model.target: cannot import {module_name} ({type(e).__name__}: {_first_line(e)})") from None
    if not hasattr(module, attr):
        raise UserError(f"model.target: {module_name} has no '{attr}'")
    obj = getattr(module, attr)
    if factory:
        if not callable(obj) or isinstance(obj, type) and not issubclass(obj, nn.Module):
            raise UserError(f"model.target: {target} is not a function (model.factory=true)")
        return obj
    if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        raise UserError(f"model.target: {target} is not a torch.nn.Module subclass (a function that builds "
                        f"the model needs model.factory=true)")
    return obj


def build_user_model(target: str, kwargs: dict, factory: bool = False) -> nn.Module:
    builder = resolve_target(target, factory)
    try:
        model = builder(**kwargs)
    except Exception as e:  # a bad keyword, or whatever the user's __init__ raises
        raise UserError(f"model.target: {target}(**model.kwargs) failed ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(model, nn.Module):
        raise UserError(f"model.target: {target} did not build a torch.nn.Module")
    return model
