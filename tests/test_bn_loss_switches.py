"""distill.first_bn_weight and distill.stats=group (distillation/bn_stats.py): the first layer's term is
scaled and no other; group statistics are those of all the images of the forward, so a group whose
batches each miss the target can still meet it; both are checked at the door."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from genie_exp.config import DistillConfig, check_section
from genie_exp.core.errors import UserError
from genie_exp.distillation.bn_stats import BNStatsLoss
from genie_exp.distillation.entry import distill_config


class TwoBN(nn.Module):
    """Identity convs, so each BN sees the image itself: its statistics are the images' own."""

    def __init__(self, mean: float = 0.0, var: float = 1.0):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(3), nn.BatchNorm2d(3)
        for bn in (self.bn1, self.bn2):
            bn.running_mean.fill_(mean)
            bn.running_var.fill_(var)
        self.eval()

    def forward(self, x):
        return self.bn2(self.bn1(x) * 0 + x)


def _terms(loss: BNStatsLoss, model: nn.Module, x: torch.Tensor, groups: int):
    with loss:
        bn, img, _ = loss.forward(model, x, groups)
    return loss.terms, bn, img


def test_first_bn_weight_scales_the_first_term_only():
    torch.manual_seed(0)
    model, x = TwoBN(mean=0.5), torch.randn(8, 3, 4, 4)
    plain, bn_plain, _ = _terms(BNStatsLoss(model), model, x, 2)
    weighted, bn_weighted, _ = _terms(BNStatsLoss(model, first_weight=10.0), model, x, 2)
    assert torch.allclose(weighted[0], 10 * plain[0]) and torch.equal(weighted[1], plain[1])
    assert torch.allclose(bn_weighted, bn_plain + 9 * plain[0])


def test_group_statistics_are_those_of_the_whole_forward():
    # two batches: one shifted up, one down; each misses the mean, together they meet it
    torch.manual_seed(1)
    base = torch.randn(4, 3, 8, 8)
    base = (base - base.mean((0, 2, 3), keepdim=True)) / base.std((0, 2, 3), keepdim=True, unbiased=False)
    x = torch.cat([base + 1.0, base - 1.0])
    model = TwoBN(mean=0.0, var=2.0)  # the union: mean 0, variance 1 + 1
    _, per_batch, _ = _terms(BNStatsLoss(model), model, x, 2)
    _, group, img = _terms(BNStatsLoss(model, whole_group=True), model, x, 2)
    assert per_batch.shape == group.shape == img.shape == (2,)
    assert float(per_batch.min()) > 0.1  # each batch alone is far from the statistics
    assert float(group.abs().max()) < 1e-4  # the group meets them
    assert torch.equal(group[0], group[1])  # one loss, carried by every batch


def test_group_statistics_need_a_group():
    check_section(DistillConfig(stats="group", parallel_batches=2), "distill")
    with pytest.raises(UserError, match="distill.parallel_batches to 2 or more"):
        check_section(DistillConfig(stats="group", parallel_batches=1), "distill")
    with pytest.raises(UserError, match="did you mean 'group'"):
        check_section(DistillConfig(stats="groups", parallel_batches=2), "distill")
    with pytest.raises(UserError, match="distill.parallel_batches"):  # the API checks it as the CLI does
        distill_config(DistillConfig(stats="group"), {})
    with pytest.raises(UserError, match="distill.first_bn_weight"):
        distill_config(DistillConfig(first_bn_weight=-1.0), {})
