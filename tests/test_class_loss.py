"""distill.class_loss: a cross-entropy term toward class i mod num_classes for image i of the set."""
import dataclasses

import pytest
import torch
import torch.nn as nn
from omegaconf import OmegaConf

import genie_exp
from genie_exp.config import DistillConfig, result_settings
from genie_exp.core.errors import UserError
from genie_exp.distillation.class_loss import balanced_labels, class_loss
from genie_exp.distillation.sources import cache_spec
from genie_exp.validate import validate

from conftest import compose_cfg


class Knick(nn.Module):
    """An odd little BN net with five classes and a head that prefers class 0 for most inputs."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.kopf = nn.Linear(8, 5)
        with torch.no_grad():
            self.kopf.weight.mul_(4)
            self.kopf.bias.copy_(torch.tensor([2.0, 0.0, 0.0, 0.0, 0.0]))

    def forward(self, x):
        return self.kopf(self.bn(self.conv(x)).mean((2, 3)))  # signed features: every class reachable


class TwoHeads(Knick):
    def forward(self, x):
        y = super().forward(x)
        return y, y


def test_labels_cover_the_classes_evenly_over_the_whole_set():
    labels = balanced_labels([0, 1, 2], 4, 5)
    assert labels.tolist() == [[0, 1, 2, 3], [4, 0, 1, 2], [3, 4, 0, 1]]
    assert torch.equal(balanced_labels([2], 4, 5)[0], labels[2])  # a batch's labels do not depend on its group
    assert torch.bincount(balanced_labels(range(8), 128, 10).flatten()).tolist() == [103] * 4 + [102] * 6


def test_loss_is_per_batch_and_low_only_for_the_assigned_classes():
    labels = balanced_labels([0, 1], 3, 4).flatten()
    right = 10 * nn.functional.one_hot(labels, 4).float()
    wrong = 10 * nn.functional.one_hot((labels + 1) % 4, 4).float()
    assert class_loss(right, [0, 1], 3).shape == (2,)
    assert float(class_loss(right, [0, 1], 3).max()) < 1e-3 < 5 < float(class_loss(wrong, [0, 1], 3).min())


def test_distillation_with_the_term_spreads_the_teachers_classes():
    torch.manual_seed(0)
    model = Knick().eval()
    labels = balanced_labels([0, 1], 10, 5).flatten()

    def outcome(**kw):
        images = genie_exp.distill(model, samples=20, batch_size=10, iters=40, image_size=8, progress=False, **kw)
        with torch.no_grad():
            probs = model(images).softmax(1)
        return torch.bincount(probs.argmax(1), minlength=5), float(probs[torch.arange(20), labels].mean())

    (plain, p_plain), (balanced, p_balanced) = outcome(), outcome(class_loss=1.0)
    assert int(plain.max()) > 15  # the head's bias wins without the term
    assert int(balanced.max()) < int(plain.max()) - 4 and int((balanced > 0).sum()) >= 3
    assert p_balanced > p_plain + 0.1  # the teacher leans toward each image's assigned class


def test_a_model_without_plain_logits_gets_one_line():
    with pytest.raises(UserError, match="distill.class_loss needs a model whose output"):
        genie_exp.distill(TwoHeads().eval(), samples=4, batch_size=4, iters=1, image_size=8, progress=False,
                          class_loss=0.5)


def test_config_checks_fingerprint_and_cache_key():
    validate(compose_cfg("distill.class_loss=0.1"))
    with pytest.raises(UserError, match="distill.class_loss"):
        validate(compose_cfg("distill.class_loss=-1"))
    plain = result_settings(OmegaConf.to_container(compose_cfg(), resolve=True))
    assert "distill.class_loss" not in plain  # left at 0 it is no setting: older runs still group
    on = result_settings(OmegaConf.to_container(compose_cfg("distill.class_loss=0.1"), resolve=True))
    assert on["distill.class_loss"] == 0.1
    assert "class_loss" not in cache_spec(DistillConfig(), "32-true")
    assert cache_spec(dataclasses.replace(DistillConfig(), class_loss=0.1), "32-true")["class_loss"] == 0.1
