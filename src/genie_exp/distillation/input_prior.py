"""What the generator may draw: three free channels, or one grey channel repeated over the model's
three inputs, chosen by hand or read from the teacher's first convolution.

Why the first conv can tell: a net trained only on images whose three channels are equal gets the
same gradient for the three input slices of each filter, so their differences never grow and weight
decay shrinks them, while the common part is learned. Measured on the shipped Fashion-MNIST teachers
(trained 8 epochs with weight decay 5e-4): the part of the weights that differs across input channels
is 25-27 % of their norm; a freshly initialised conv has 83-86 %. GREY_SPREAD sits between the two."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn

from ..choices import INPUT_PRIORS
from ..core.errors import UserError

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


@dataclass(frozen=True)
class PriorChoice:
    grey: bool
    line: str  # the prior drawn and, for auto, why: printed once by the distillation
    note: Optional[str] = None  # a colour prior for a teacher whose first conv looks grey-trained


def choose_prior(prior: str, teacher: nn.Module) -> PriorChoice:
    """What the generator draws for `teacher` under `distill.input_prior`, and what to tell the user."""
    if prior not in INPUT_PRIORS:
        raise UserError(f"unknown distill.input_prior '{prior}' (choose from: {', '.join(INPUT_PRIORS)})")
    conv = first_conv(teacher)
    spread = None if conv is None else channel_spread(conv)
    looks_grey = spread is not None and spread < GREY_SPREAD
    if prior == "auto":
        why = ("no 3-channel first conv to read" if spread is None else
               f"the first conv's weights differ across the 3 input channels by {spread:.2f} of their norm, "
               f"grey below {GREY_SPREAD:.2f}")
        return PriorChoice(looks_grey, f"distillation input prior: {'grey' if looks_grey else 'colour'} "
                                       f"(distill.input_prior=auto: {why})")
    grey = prior == "grey"
    line = f"distillation input prior: {prior} (distill.input_prior={prior})"
    if grey or not looks_grey:
        return PriorChoice(grey, line)
    # free colour channels on a teacher that only saw grey come out as saturated colour blobs
    note = (f"the teacher looks trained on grey images (its first conv's weights are nearly the same across "
            f"the 3 input channels: they differ by {spread:.2f} of their norm); distill.input_prior=auto "
            f"draws grey images for it")
    return PriorChoice(False, line, note)


def wants_grey(prior: str, teacher: nn.Module) -> bool:
    """Whether the generator draws one grey channel for `teacher` under `distill.input_prior`."""
    return choose_prior(prior, teacher).grey
