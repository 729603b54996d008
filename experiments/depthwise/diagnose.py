"""Synthetic vs real calibration images on one teacher, without quantizing anything:
per-BN-layer statistics error, per-channel input statistics, the teacher's confidence and class
histogram. Reads the distilled sets from the calibration cache (one per seed).

    python experiments/depthwise/diagnose.py mobilenetv2 CACHE_FILE [CACHE_FILE ...] > out.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.nn as nn
from hydra import compose, initialize_config_dir

from genie_exp.cli import CONF_DIR, register_configs
from genie_exp.data import build_data
from genie_exp.distillation.baselines import real_images
from genie_exp.core.context import RunContext
from genie_exp.hydra_config import to_config
from genie_exp.teachers import load_teacher


def bn_errors(teacher: nn.Module, x: torch.Tensor) -> list[dict]:
    """Per BatchNorm2d: the relative error of the batch's input mean and std against the running
    statistics, and whether the conv feeding it is depthwise (its BN is the one after it)."""
    rows, prev_conv = [], {}
    last = None
    for name, m in teacher.named_modules():
        if isinstance(m, nn.Conv2d):
            last = m
        if isinstance(m, nn.BatchNorm2d):
            prev_conv[name] = last
    out, hooks = {}, []

    def hook(name):
        def f(mod, args):
            a = args[0].float()
            mean, std = a.mean((0, 2, 3)), a.std((0, 2, 3), unbiased=False)
            rm, rs = mod.running_mean, (mod.running_var + mod.eps).sqrt()
            out[name] = {"mean_err": float((mean - rm).norm() / rs.norm()),
                         "std_err": float((std - rs).norm() / rs.norm())}
        return f

    for name, m in teacher.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            hooks.append(m.register_forward_pre_hook(hook(name)))
    with torch.no_grad():
        teacher(x)
    for h in hooks:
        h.remove()
    for name, v in out.items():
        conv = prev_conv.get(name)
        kind = "depthwise" if conv is not None and conv.groups > 1 and conv.groups == conv.in_channels else (
            "pointwise" if conv is not None and conv.kernel_size == (1, 1) else "conv")
        rows.append({"bn": name, "after": kind, **v})
    return rows


def describe(teacher: nn.Module, x: torch.Tensor) -> dict:
    with torch.no_grad():
        p = teacher(x).softmax(-1)
    conf, cls = p.max(-1)
    bn = bn_errors(teacher, x)
    by_kind = {}
    for k in ("conv", "depthwise", "pointwise"):
        r = [b for b in bn if b["after"] == k]
        if r:
            by_kind[k] = {"layers": len(r), "mean_err": sum(b["mean_err"] for b in r) / len(r),
                          "std_err": sum(b["std_err"] for b in r) / len(r)}
    return {
        "channel_mean": x.mean((0, 2, 3)).tolist(), "channel_std": x.std((0, 2, 3)).tolist(),
        # how grey the images are: the spread across the 3 channels of one pixel, against the pixel spread
        "channel_disagreement": float(x.std(1).mean() / x.std()),
        "confidence_mean": float(conf.mean()), "confidence_median": float(conf.median()),
        "entropy_mean": float(-(p * p.clamp_min(1e-12).log()).sum(-1).mean()),
        "class_histogram": torch.bincount(cls, minlength=p.shape[1]).tolist(),
        "bn_by_kind": by_kind, "bn": bn,
    }


def main(model: str, files: list[str]) -> None:
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"+model={model}"])
    config = to_config(cfg)
    data = build_data(config.data)
    teacher, _ = load_teacher(config.model, data, RunContext.from_config(config), config.train, config.data)
    teacher.eval()
    result = {"real": {}, "synthetic": {}}
    for seed in range(len(files)):
        result["real"][f"seed{seed}"] = describe(teacher, real_images(data, 256, seed))
    for f in files:
        obj = torch.load(f, weights_only=True)
        result["synthetic"][Path(f).name] = {"meta": obj.get("meta"), **describe(teacher, obj["images"].float())}
    json.dump(result, sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
