"""Teachers: shipped checkpoints for the embedded data, a cache of teachers trained on first use,
user checkpoints (`model.weights`) and user classes (`model.target`)."""
from __future__ import annotations

import importlib
import logging
import os
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from omegaconf import DictConfig, OmegaConf

from ..data import DataSpec
from ..errors import UserError
from ..io_utils import load_torch, save_torch
from .registry import create_model

log = logging.getLogger(__name__)
ZOO_DIR = Path(__file__).parent / "zoo"


def zoo_name(model: str, dataset: str) -> str:
    return f"{model}_{dataset}.pt"


def build_model(cfg: DictConfig, data: DataSpec) -> nn.Module:
    """The architecture, with random weights (no checkpoint is read here)."""
    kwargs = OmegaConf.to_container(cfg.model.kwargs, resolve=True) or {}
    if cfg.model.name == "custom":
        return _import_user_model(cfg.model.target, kwargs)
    return create_model(cfg.model.name, num_classes=data.num_classes, image_size=data.image_size, **kwargs)


def _import_user_model(target: str, kwargs: dict) -> nn.Module:
    if not target or "." not in target:
        raise UserError(f"model.target must be a dotted path like my_pkg.my_mod.MyNet, got '{target}'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # importable from the working directory, as documented
    module_name, attr = target.rsplit(".", 1)
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise UserError(f"model.target: cannot import {target} ({e})") from None
    try:
        model = cls(**kwargs)
    except TypeError as e:
        raise UserError(f"model.target: {target}(**model.kwargs) failed: {e}") from None
    if not isinstance(model, nn.Module):
        raise UserError(f"model.target: {target} did not build a torch.nn.Module")
    return model


def state_dict_of(obj: Any, what: str) -> dict:
    """Accept a raw state dict or a {'state_dict': ...} checkpoint."""
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"{what}: not a state dict (expected a dict of tensors)")
    return obj


def load_weights(model: nn.Module, state: dict, what: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                parts.append(f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}")
        raise UserError(f"{what} does not match the model ({'; '.join(parts)})")
    fixed = OrderedDict((k, v.to(own[k].dtype)) for k, v in state.items())
    # the model's own module versions: keys and shapes already match it, and some modules
    # (torchvision's MNASNet) refuse a state dict without versions (a plain dict, a re-keyed one)
    fixed._metadata = own._metadata  # type: ignore[attr-defined]
    model.load_state_dict(fixed)


def save_teacher(model: nn.Module, path: Path, meta: dict) -> None:
    """fp16 storage keeps shipped teachers small; BN running stats and counters keep their dtype."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    save_torch({"state_dict": state, "meta": meta}, path)


def teacher_meta(path: Path) -> dict:
    obj = load_torch(path, "teacher checkpoint")
    return obj.get("meta", {}) if isinstance(obj, dict) else {}


def teacher_path(cfg: DictConfig, data: DataSpec) -> Path | None:
    """Where the teacher comes from: a shipped zoo file, else the teacher cache (may not exist yet)."""
    name = zoo_name(cfg.model.name, data.name)
    shipped = ZOO_DIR / name
    if shipped.is_file():
        return shipped
    return Path(cfg.paths.cache_dir) / "teachers" / name


def load_teacher(cfg: DictConfig, data: DataSpec) -> tuple[nn.Module, str]:
    """The FP32 teacher in eval mode and a short description of where its weights came from."""
    model = build_model(cfg, data)
    if cfg.model.weights:
        load_weights(model, state_dict_of(load_torch(cfg.model.weights, "model.weights"), "model.weights"),
                     f"model.weights {cfg.model.weights}")
        return model.eval(), str(cfg.model.weights)
    if cfg.model.name == "custom":
        raise UserError("model=custom needs model.weights=PATH (a state dict of model.target)")
    from .library import load_library_weights  # ImageNet weights of torchvision/timm
    if data.name == "imagenet":
        if cfg.model.pretrained:
            load_library_weights(model, cfg.model.name)
            return model.eval(), "library"
        return model.eval(), "random"
    if not cfg.model.pretrained:
        return model.eval(), "random"
    path = teacher_path(cfg, data)
    if not path.is_file():
        from ..train import train_teacher
        log.info("no teacher for %s on %s yet: training one (cached at %s)", cfg.model.name, data.name, path)
        train_teacher(cfg, data, model, path)
    load_weights(model, state_dict_of(load_torch(path, "teacher checkpoint"), "teacher checkpoint"),
                 f"teacher checkpoint {path}")
    return model.eval(), str(path)
