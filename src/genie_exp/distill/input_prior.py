"""What the generator may draw: three free channels, or one grey channel repeated over the model's
three inputs, chosen by hand or read from the teacher's first convolution.

Why the first conv can tell: a net trained only on images whose three channels are equal gets the
same gradient for the three input slices of each filter, so their differences never grow and weight
decay shrinks them, while the common part is learned. Measured on the shipped Fashion-MNIST teachers
(trained 8 epochs with weight decay 5e-4): the part of the weights that differs across input channels
is 25-27 % of their norm; a freshly initialised conv has 83-86 %. GREY_SPREAD sits between the two."""
from __future__ import annotations

import logging
from typing import Optional

import torch
import torch.nn as nn

from ..core.errors import UserError

log = logging.getLogger(__name__)
INPUT_PRIORS = ("colour", "grey", "auto")
GREY_SPREAD = 0.4


def first_conv(model: nn.Module) -> Optional[nn.Conv2d]:
    """The first Conv2d the model registers that reads 3 channels (its stem, in every zoo model)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m if m.in_channels == 3 and m.groups == 1 else None
    return None


def channel_spread(conv: nn.Conv2d) -> float:
    """The norm of the weights' differences across input channels, over the weights' norm (0: the
    conv only sees the channels' sum)."""
    w = conv.weight.detach().float()
    return float((w - w.mean(1, keepdim=True)).norm() / w.norm().clamp_min(1e-12))


def wants_grey(prior: str, teacher: nn.Module) -> bool:
    """Whether the generator draws one grey channel for `teacher` under `distill.input_prior`."""
    if prior not in INPUT_PRIORS:
        raise UserError(f"unknown distill.input_prior '{prior}' (choose from: {', '.join(INPUT_PRIORS)})")
    if prior != "auto":
        return prior == "grey"
    conv = first_conv(teacher)
    if conv is None:
        log.info("distill.input_prior=auto: no 3-channel first conv found, drawing colour")
        return False
    spread = channel_spread(conv)
    grey = spread < GREY_SPREAD
    log.info("distill.input_prior=auto: the first conv's weights differ across input channels by %.2f of "
             "their norm (grey below %.2f): drawing %s", spread, GREY_SPREAD, "grey" if grey else "colour")
    return grey
