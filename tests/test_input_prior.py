"""distill.input_prior (grey / colour / auto from the teacher's first conv) and distill.output_affine."""
import dataclasses

import pytest
import torch
import torch.nn as nn

import genie_exp
from genie_exp.config import DistillConfig
from genie_exp.core.errors import UserError
from genie_exp.distillation.generator import Generator
from genie_exp.distillation.input_prior import GREY_SPREAD, channel_spread, first_conv, wants_grey
from genie_exp.distillation.sources import cache_spec


class GreyStem(nn.Module):
    """An odd little net whose stem has a grey-trained look: the three input slices of each filter
    are equal up to `noise` (0: it only ever sees the channels' sum)."""

    def __init__(self, noise: float = 0.0):
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.head = nn.Linear(6, 4)
        with torch.no_grad():
            shared = torch.randn(6, 1, 3, 3)
            self.stem.weight.copy_(shared.expand(-1, 3, -1, -1) + noise * torch.randn(6, 3, 3, 3))

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.stem(x))).mean((2, 3)))


def test_spread_separates_a_grey_stem_from_a_fresh_one():
    torch.manual_seed(0)
    assert channel_spread(GreyStem().stem) < 1e-6
    assert channel_spread(GreyStem(noise=0.1).stem) < GREY_SPREAD
    assert channel_spread(nn.Conv2d(3, 16, 3)) > GREY_SPREAD  # a random init keeps the colour directions


def test_auto_reads_the_first_conv_and_explicit_values_win():
    torch.manual_seed(0)
    grey, fresh = GreyStem(), GreyStem()
    nn.init.kaiming_normal_(fresh.stem.weight)
    assert first_conv(grey) is grey.stem
    assert wants_grey("auto", grey) and not wants_grey("auto", fresh)
    assert wants_grey("grey", fresh) and not wants_grey("colour", grey)
    assert not wants_grey("auto", nn.Sequential(nn.Conv2d(1, 3, 3)))  # no 3-channel stem: colour
    with pytest.raises(UserError, match="distill.input_prior 'gray'"):
        wants_grey("gray", grey)


def test_grey_generator_repeats_one_channel_and_affine_learns_the_last_bn():
    torch.manual_seed(0)
    g = Generator(16, 8, grey=True, affine=True)
    x = g(torch.randn(4, 16))
    assert x.shape == (4, 3, 8, 8)
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    last = g.body[-1]
    assert last.affine and last.num_features == 1
    plain = Generator(16, 8)
    assert not plain.body[-1].affine and not torch.equal(plain(torch.randn(4, 16))[:, 0], plain(torch.randn(4, 16))[:, 1])


def test_distill_draws_grey_images_and_moves_the_input_statistics_with_affine():
    torch.manual_seed(0)
    model = GreyStem(noise=0.05)
    with torch.no_grad():  # the stem's BN expects inputs far from zero mean: only an affine output can follow
        model.bn.running_mean.fill_(3.0)
    grey = genie_exp.distill(model, samples=8, batch_size=8, iters=3, image_size=8, input_prior="auto", progress=False)
    assert torch.equal(grey[:, 0], grey[:, 2])
    fixed = genie_exp.distill(model, samples=8, batch_size=8, iters=30, image_size=8, progress=False)
    free = genie_exp.distill(model, samples=8, batch_size=8, iters=30, image_size=8, output_affine=True,
                             progress=False)
    assert abs(float(fixed.mean())) < 1e-3  # zero mean per channel, whatever the loss wants
    assert abs(float(free.mean())) > 0.01


def test_the_cache_key_of_the_paper_settings_is_unchanged():
    base = cache_spec(DistillConfig(), "32-true")
    assert "input_prior" not in base and "output_affine" not in base and "early_stop" not in base
    assert cache_spec(dataclasses.replace(DistillConfig(), input_prior="grey"), "32-true")["input_prior"] == "grey"
    assert cache_spec(dataclasses.replace(DistillConfig(), output_affine=True), "32-true")["output_affine"] is True
