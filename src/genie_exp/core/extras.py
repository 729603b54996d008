"""Optional dependencies: a missing one ends in one line that names the extra to install."""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import UserError

EXTRAS = {"wandb": "wandb", "timm": "timm", "onnx": "export", "onnxscript": "export", "onnxruntime": "export"}


def require(module: str, what: str) -> ModuleType:
    """import `module`, or a UserError saying which extra of genie_exp brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module.split(".")[0], module)
        raise UserError(f"{what} needs the '{module}' package: pip install 'genie_exp[{extra}]'") from None
