"""Compiled kernels and the switch that turns them on (recon.compile, distill.compile).

A kernel is a small pure function compiled once per process with torch.compile for every shape
(`dynamic=True`), called on detached tensors: the stages' custom autograd functions differentiate
themselves, so dynamo has no view bases or requires_grad flags to guard on and one compile serves
every layer. Inductor's on-disk cache makes later processes cheap. Calls that compiled are timed."""
from __future__ import annotations

import importlib.util
import shutil
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import torch

from ..choices import COMPILE_CHOICES as CHOICES
from .errors import UserError

_state = threading.local()
_compiled: dict[str, Callable] = {}
COMPILE_SECONDS = [0.0]  # spent in calls that compiled a kernel, this process


def active() -> bool:
    """Whether the stages use their compiled kernels now (inside `fused()`)."""
    return getattr(_state, "on", False)


@contextmanager
def fused(enabled: bool = True) -> Iterator[None]:
    previous = active()
    _state.on = bool(enabled)
    try:
        yield
    finally:
        _state.on = previous


def kernel(fn: Callable) -> Callable:
    """`fn`, compiled on its first call."""
    name = f"{fn.__module__}.{fn.__name__}"

    def call(*args):
        args = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
        compiled = _compiled.get(name)
        if compiled is None:
            compiled = _compiled[name] = torch.compile(fn, dynamic=True, fullgraph=True)
        graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
        t0 = time.perf_counter()
        out = compiled(*args)
        if torch._dynamo.utils.counters["stats"]["unique_graphs"] != graphs:
            COMPILE_SECONDS[0] += time.perf_counter() - t0
        return out
    call.__name__ = fn.__name__
    return call


def can_compile(device: torch.device) -> bool:
    """torch.compile can build kernels here: a C++ compiler for the CPU, Triton for a GPU."""
    if device.type == "cuda":
        return importlib.util.find_spec("triton") is not None
    return device.type == "cpu" and any(shutil.which(c) for c in ("g++", "c++", "clang++"))


def use_kernels(choice: object, key: str, device: torch.device, steps: int, auto_min_steps: int) -> bool:
    """The answer to `key` (auto | true | false) for a stage of `steps` optimizer steps in all: `auto`
    compiles where it can and where the stage is long enough to repay the compile."""
    value = str(choice).lower()
    if value not in CHOICES:
        raise UserError(f"unknown {key} '{choice}' (choose from: {', '.join(CHOICES)})")
    if value == "false":
        return False
    if not can_compile(device):
        if value == "true":
            raise UserError(f"{key}=true: torch.compile cannot build kernels on this {device.type} (no C++ "
                            f"compiler{' or Triton' if device.type == 'cuda' else ''}); use {key}=auto or false")
        return False
    return value == "true" or steps >= auto_min_steps
