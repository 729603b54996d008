"""Where the FP32 teacher's weights come from: shipped checkpoints for the embedded data (models/zoo/),
a cache of teachers trained on first use (training.py), user checkpoints (`model.weights`) and user
classes (`model.target`)."""
from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn as nn

from ..config import DataConfig, ModelConfig, TrainConfig
from ..core.context import RunContext
from ..core.errors import UserError, warn
from ..core.io import load_torch
from ..data import DataSpec
from ..models.checkpoint import load_weights, state_dict_of
from ..models.reference import build_from_reference, config_reference, model_label
from ..models.registry import MODELS

log = logging.getLogger(__name__)
ZOO_DIR = Path(__file__).parents[1] / "models" / "zoo"


def zoo_name(model: str, dataset: str) -> str:
    return f"{model}_{dataset}.pt"


def build_model(model: ModelConfig, data: DataSpec) -> nn.Module:
    """The architecture, with random weights (no checkpoint is read here)."""
    return build_from_reference(config_reference(model, data.num_classes, data.image_size))


def teacher_path(model_name: str, data: DataSpec, cache_dir: Path | None) -> Path | None:
    """Where the teacher comes from: a shipped zoo file, else the teacher cache (may not exist yet;
    None without a cache)."""
    name = zoo_name(model_name, data.name)
    shipped = ZOO_DIR / name
    if shipped.is_file():
        return shipped
    return None if cache_dir is None else Path(cache_dir) / "teachers" / name


def load_teacher(model_cfg: ModelConfig, data: DataSpec, ctx: RunContext, train: TrainConfig | None = None,
                 data_cfg: DataConfig | None = None) -> tuple[nn.Module, str]:
    """The FP32 teacher in eval mode and a short description of where its weights came from. A
    registered model without a teacher for the data yet is trained first (`train`, on `data_cfg`'s
    loaders) and kept in the teacher cache under ctx.cache_dir."""
    model = build_model(model_cfg, data)
    weights = model_cfg.weights
    if weights:
        state = state_dict_of(load_torch(weights, "model.weights"), "model.weights")
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:  # said here: later it would look like a learning-rate problem
            raise UserError(f"model.weights {weights}: non-finite values (NaN/inf) in {bad[0]}")
        load_weights(model, state, f"model.weights {weights}")
        return model.eval(), str(weights)
    if MODELS[model_cfg.name].needs_weights:
        raise UserError("model=custom needs model.weights=PATH (a state dict of model.target)")
    from ..models.library import load_library_weights  # ImageNet weights of torchvision/timm
    if data.name == "imagenet":
        if model_cfg.pretrained:
            load_library_weights(model, model_cfg.name)
            return model.eval(), "library"
        return model.eval(), "random"
    if not model_cfg.pretrained:
        return model.eval(), "random"
    path = teacher_path(model_cfg.name, data, ctx.cache_dir)
    if path is None:
        raise UserError(f"no teacher for {model_cfg.name} on {data.name} ships with genie-exp, and without "
                        f"paths.cache_dir none can be trained: set paths.cache_dir or model.weights=PATH")
    if path.is_file() and path.parent != ZOO_DIR:  # trained on first use: a damaged file is trained again
        try:
            return _loaded(model, path), str(path)
        except UserError as e:
            warn(f"the cached teacher {path} is unusable ({e}); training it again")
            path.unlink(missing_ok=True)
    if not path.is_file():
        from .training import train_teacher  # Lightning, only where a teacher is trained
        log.info("no teacher for %s on %s yet: training one (cached at %s)", model_cfg.name, data.name, path)
        train_teacher(model, data, path, train or TrainConfig(), data_cfg or DataConfig(), ctx, model_label(model_cfg))
    return _loaded(model, path), str(path)


def _loaded(model: nn.Module, path: Path) -> nn.Module:
    load_weights(model, state_dict_of(load_torch(path, "teacher checkpoint"), "teacher checkpoint"),
                 f"teacher checkpoint {path}")
    return model.eval()
