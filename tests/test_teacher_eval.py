"""The teacher's FP32 top-1 is evaluated once per teacher and evaluation set, then read back."""
from __future__ import annotations

import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

import genie_exp.teachers.fp32_top1 as te
from genie_exp.models import create_model

from conftest import compose_cfg


def test_second_call_reads_the_cached_top1(tmp_path, monkeypatch):
    cfg = compose_cfg(f"paths.cache_dir={tmp_path}")
    torch.manual_seed(0)
    teacher = create_model("resnet20", width=4).eval()
    loader = DataLoader(TensorDataset(torch.randn(12, 3, 16, 16), torch.randint(10, (12,))), batch_size=6)
    calls = []
    real = te.evaluate
    monkeypatch.setattr(te, "evaluate", lambda m, l, **kw: calls.append(1) or real(m, l, **kw))
    data = OmegaConf.to_container(cfg.data)
    first = te.teacher_top1(teacher, loader, data, tmp_path)
    assert te.teacher_top1(teacher, loader, data, tmp_path) == first and len(calls) == 1
    with torch.no_grad():
        teacher.fc.weight.add_(1.0)  # other weights: evaluated again
    te.teacher_top1(teacher, loader, data, tmp_path)
    assert len(calls) == 2
    short = DataLoader(TensorDataset(torch.randn(6, 3, 16, 16), torch.randint(10, (6,))), batch_size=6)
    te.teacher_top1(teacher, short, data, tmp_path)  # another evaluation set: evaluated again
    assert len(calls) == 3
