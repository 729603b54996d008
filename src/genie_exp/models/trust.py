"""What a config or a quantized.pt may build: a class or function of the user's own code, a model of
torchvision.models or timm, or one of genie_exp's registered models. Nothing else: no standard
library, no builtin, no other installed package. The module is checked before it is imported, and
the object before it is called, so a crafted file or config cannot run `os.system` and the like."""
from __future__ import annotations

import importlib.util
import inspect
import os
import site
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import torch.nn as nn

from ..core.errors import UserError

ALLOWED = ("a class or function of your own code (a module on the working directory or PYTHONPATH, not an "
           "installed package), a torchvision.models or timm model, or a registered genie_exp model")
LIBRARIES = ("torchvision.models", "timm")  # model libraries: their model classes and registered builders
OWN_MODELS = "genie_exp.models"


def refused(what: str, target: str, why: str) -> UserError:
    return UserError(f"{what}={target}: refused ({why}); a config or quantized.pt may build only {ALLOWED}")


@lru_cache(maxsize=1)
def _installed_roots() -> tuple[Path, ...]:
    """Where the standard library and installed packages live."""
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= set(site.getsitepackages()) | {site.getusersitepackages()}
    return tuple(Path(os.path.realpath(r)) for r in roots if r)


def _is_installed(path: str) -> bool:
    real = Path(os.path.realpath(path))
    if {"site-packages", "dist-packages"} & set(real.parts):
        return True
    return any(real == root or root in real.parents for root in _installed_roots())


def _top_location(top: str) -> Optional[str]:
    """The file or folder the top-level module `top` comes from, found without importing it; None
    for a builtin or frozen module."""
    module = sys.modules.get(top)
    if module is not None:
        spec = getattr(module, "__spec__", None)
        location = getattr(module, "__file__", None)
        if location is None and spec is not None and spec.submodule_search_locations:
            location = list(spec.submodule_search_locations)[0]
        if location is None and top == "__main__":
            return os.getcwd()  # an interactive session or `python -c`: the user's own definitions
        return location
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin not in (None, "built-in", "frozen") and os.path.exists(spec.origin):
        return spec.origin
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return None


def _genie_exp_dir() -> Path:
    return Path(os.path.realpath(Path(__file__).resolve().parents[1]))


def module_problem(module_name: str) -> Optional[str]:
    """Why code from `module_name` may not be built from a config or a file (None: it may)."""
    top = module_name.split(".", 1)[0]
    private = [p for p in module_name.split(".") if p.startswith("_")]
    if private and top in ("genie_exp", *(lib.split(".")[0] for lib in LIBRARIES)):
        return f"{private[0]} is a private module"
    if module_name == OWN_MODELS or module_name.startswith(OWN_MODELS + "."):
        return None
    if top == "genie_exp":
        return f"{module_name} is genie_exp's own code, not a model"
    if any(module_name == lib or module_name.startswith(lib + ".") for lib in LIBRARIES):
        return None
    if top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ()):
        return f"{top} is part of Python itself"
    location = _top_location(top)
    if location is None:
        return f"no module {top} on the path" if top not in sys.modules else f"{top} is built into Python"
    real = Path(os.path.realpath(location))
    own = _genie_exp_dir()
    if real == own or own in real.parents:  # e.g. genie_exp's own __main__ under `python -m`
        return f"{module_name} is genie_exp's own code, not a model"
    if _is_installed(location):
        return f"{top} is an installed package ({real.parent}); wrap the model in a function of your own code"
    return None


def _registered_builder(obj: Any, module_name: str, attr: str) -> bool:
    """`obj` is a model builder registered by the library it comes from (or by genie_exp)."""
    if module_name.split(".", 1)[0] == "genie_exp":
        from .registry import registered_factory

        return registered_factory(attr) is obj
    if module_name.split(".", 1)[0] == "torchvision":
        import torchvision.models as tvm

        return attr in tvm.list_models() and tvm.get_model_builder(attr) is obj
    import timm

    return timm.is_model(attr) and timm.models.model_entrypoint(attr) is obj


def check_object(obj: Any, target: str, factory: bool, what: str) -> None:
    """The imported object itself: where it was defined (a re-export of os.system from the user's
    module is still os.system), and that it is what model.factory says."""
    module_name = getattr(obj, "__module__", None)
    if not isinstance(module_name, str):
        raise refused(what, target, "it is not a class or a function defined in a module")
    problem = module_problem(module_name)
    if problem:
        raise refused(what, target, f"it is defined in {module_name}: {problem}")
    is_module_class = isinstance(obj, type) and issubclass(obj, nn.Module)
    library = any(module_name == lib or module_name.startswith(lib + ".") for lib in (*LIBRARIES, OWN_MODELS))
    if factory:
        if isinstance(obj, type):
            if not is_module_class:
                raise UserError(f"{what}: {target} is a class but not a torch.nn.Module subclass")
            return
        if not inspect.isfunction(obj):
            raise UserError(f"{what}: {target} is not a Python function (model.factory=true)")
        if library and not _registered_builder(obj, module_name, target.rsplit(".", 1)[1]):
            raise refused(what, target, f"{module_name} does not register it as a model builder")
        return
    if not is_module_class:
        raise UserError(f"{what}: {target} is not a torch.nn.Module subclass (a function that builds the model "
                        f"needs model.factory=true)")
