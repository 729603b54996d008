"""The teacher's FP32 top-1, computed once per (teacher weights, dataset, evaluation set) and kept in
`paths.cache_dir/eval/`: every run of a sweep over bits, quantizers or seeds reports the same number,
and evaluating the unchanged teacher again was half of each run's evaluation time."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch.nn as nn
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from .calib.cache import weights_digest
from .evaluate import evaluate
from .io_utils import save_json


def _key(teacher: nn.Module, cfg: DictConfig, n_images: int) -> str:
    data = OmegaConf.to_container(cfg.data, resolve=True)
    data.pop("workers", None), data.pop("batch_size", None)  # do not change the images or the result
    blob = json.dumps({"teacher": weights_digest(teacher), "data": data, "images": n_images}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def teacher_top1(teacher: nn.Module, loader: DataLoader, cfg: DictConfig) -> float:
    path = Path(str(cfg.paths.cache_dir)).expanduser() / "eval" / f"{_key(teacher, cfg, len(loader.dataset))}.json"
    try:
        return float(json.loads(path.read_text())["top1"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not there yet, or damaged: evaluate
    top1 = evaluate(teacher, loader)
    save_json({"top1": top1, "model": cfg.model.name, "dataset": cfg.data.name}, path)
    return top1
