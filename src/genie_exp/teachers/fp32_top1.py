"""The teacher's FP32 top-1, computed once per (teacher weights, dataset, evaluation set) and kept in
`paths.cache_dir/eval/`: every run of a sweep over bits, quantizers or seeds reports the same number,
and evaluating the unchanged teacher again was half of each run's evaluation time."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import torch.nn as nn
from torch.utils.data import DataLoader

from ..core.hashing import key_of, weights_digest
from ..top1 import evaluate
from ..core.io import save_json


def _key(teacher: nn.Module, data_cfg: dict, n_images: int) -> str:
    data = {k: v for k, v in data_cfg.items() if k not in ("workers", "batch_size")}  # no effect on the result
    return key_of({"teacher": weights_digest(teacher), "data": data, "images": n_images})[:24]


def teacher_top1(teacher: nn.Module, loader: DataLoader, data_cfg: dict, cache_dir: Optional[Path],
                 model_name: str = "model", channels_last: bool = False) -> float:
    """`data_cfg`: the `data` settings as a plain dict; `cache_dir` None: evaluate, keep nothing."""
    if cache_dir is None:
        return evaluate(teacher, loader, channels_last=channels_last)
    path = Path(cache_dir) / "eval" / f"{_key(teacher, data_cfg, len(loader.dataset))}.json"
    try:
        return float(json.loads(path.read_text())["top1"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not there yet, or damaged: evaluate
    top1 = evaluate(teacher, loader, channels_last=channels_last)
    save_json({"top1": top1, "model": model_name, "dataset": data_cfg.get("name")}, path)
    return top1
