"""Checks of what a caller hands the Python API (models, image and label tensors, block names), each
a one-line UserError at the door, and the guard that gives the caller's model back as it was."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import torch
import torch.nn as nn

from .errors import UserError


def _first_line(e: BaseException) -> str:
    return (str(e).splitlines() or [""])[0][:160]


def check_model(model: Any, what: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise UserError(f"{what}: model must be a torch.nn.Module, got {type(model).__name__}")
    tensors = list(model.parameters()) + list(model.buffers())
    if any(t.is_meta for t in tensors):
        raise UserError(f"{what}: the model has tensors on the meta device (no values); load its weights first "
                        f"(e.g. model.to_empty(device='cpu') and load_state_dict)")
    if not any(True for _ in model.parameters()):
        raise UserError(f"{what}: the model has no parameters")
    return model


def as_tensor(x: Any, what: str) -> torch.Tensor:
    """A tensor from a tensor or a NumPy array (anything else: one line)."""
    if isinstance(x, torch.Tensor):
        return x
    if type(x).__module__ == "numpy" and hasattr(x, "shape"):
        return torch.as_tensor(x)
    raise UserError(f"{what} must be a torch.Tensor (or a NumPy array), got {type(x).__name__}")


def check_images(x: Any, what: str) -> torch.Tensor:
    """(N, C, H, W) floating-point images with finite values."""
    x = as_tensor(x, what)
    if x.dim() != 4 or x.shape[0] < 1:
        raise UserError(f"{what} must be a tensor of images (N, C, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise UserError(f"{what} must hold floating-point images normalised as the model expects, got {x.dtype} "
                        f"(e.g. convert with x.float() / 255 and the model's normalisation)")
    bad = int((~torch.isfinite(x)).flatten(1).any(1).sum())
    if bad:
        raise UserError(f"{what}: {bad} of the {x.shape[0]} images hold NaN/inf values")
    return x


def check_labels(y: Any, n: int, what: str) -> torch.Tensor:
    y = as_tensor(y, what)
    if y.dim() != 1:
        raise UserError(f"{what} must be a 1-D tensor of class indices, got shape {tuple(y.shape)}")
    if y.is_floating_point() or y.dtype == torch.bool or y.is_complex():
        raise UserError(f"{what} must hold integer class indices, got {y.dtype}")
    if len(y) != n:
        raise UserError(f"{what}: {n} images but {len(y)} labels")
    return y


def check_runs_on(model: nn.Module, x: torch.Tensor, what: str) -> None:
    """One forward pass of a few images, so that a channel count or an image size the model cannot take
    is one line here rather than a torch error deep inside a stage."""
    dev = device_of(model)
    with restored(model), torch.no_grad():
        model.eval()
        try:
            model(x[:2].to(dev))
        except Exception as e:  # noqa: BLE001 - whatever the model raises on this input
            raise UserError(f"{what}: the model cannot run on inputs of shape {tuple(x.shape[1:])} per image "
                            f"({type(e).__name__}: {_first_line(e)})") from None


def check_blocks(blocks: Any, what: str) -> list[str]:
    if isinstance(blocks, str) or not isinstance(blocks, Sequence) or not all(isinstance(b, str) for b in blocks):
        example = f"['{blocks}']" if isinstance(blocks, str) else "['MyBlock']"
        raise UserError(f"{what}: blocks must be a list of class names, e.g. blocks={example}, got {blocks!r}")
    return list(blocks)


def device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@contextmanager
def restored(model: nn.Module) -> Iterator[nn.Module]:
    """Afterwards, on success or failure, `model` is on its device again with every module's mode and
    every parameter's requires_grad flag as before."""
    home = device_of(model)
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        yield model
    finally:
        model.to(home)
        for m, mode in modes:
            m.training = mode
        for p, flag in flags:
            p.requires_grad_(flag)
