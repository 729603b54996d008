"""Top-1 accuracy of a classifier: on a loader (the CLI's test split) or, through the API, on tensors.
Logits that are NaN/inf are an error, never a class."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from .core.errors import UserError
from .core.layout import channels_last as nhwc, to_layout, use_nhwc


def count_correct(logits: torch.Tensor, labels: torch.Tensor, what: str = "evaluation") -> int:
    """How many rows of `logits` (N, classes) have their largest value at `labels`."""
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != labels.shape[0]:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise UserError(f"{what}: the model's output must be logits (N, classes) for the {labels.shape[0]} "
                        f"images, got {shape}")
    bad = int((~torch.isfinite(logits)).any(1).sum())
    if bad:
        raise UserError(f"{what}: the model's output is NaN/inf for {bad} of {logits.shape[0]} images (a broken "
                        f"model or NaN inputs), so there is no top-1 to report")
    return int((logits.argmax(1).cpu() == labels.cpu()).sum())


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None,
             channels_last: bool = False) -> float:
    """Top-1 as a fraction in [0, 1]; the model's mode and layout are restored, also on an error.
    `channels_last`: evaluate in NHWC (the same logits up to float rounding, faster convolutions; not
    where core.layout.nhwc_safe refuses the model)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = total = 0
    cl = use_nhwc(channels_last, model)
    try:
        with nhwc(model, enabled=cl):
            for x, y in loader:
                correct += count_correct(model(to_layout(x.to(device), cl)), y)
                total += int(y.numel())
    finally:
        model.train(was_training)
    return correct / max(total, 1)
