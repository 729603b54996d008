"""Random streams that do not depend on what ran before: each distillation group and each
reconstruction unit draws from its own seed, so a run resumed half-way sees exactly the numbers an
uninterrupted run sees, and a calibration-cache hit leaves reconstruction unchanged."""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterator

import torch


def derived_seed(seed: int, stage: str, index: int) -> int:
    """A 63-bit seed for (run seed, stage, index); hashing keeps stages and indices apart."""
    digest = hashlib.sha256(f"{int(seed)}/{stage}/{int(index)}".encode()).hexdigest()
    return int(digest[:15], 16)


def _cuda_devices() -> list[int]:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Within the block the global CPU and CUDA generators start from `seed`; afterwards they are
    back where they were, so the block consumes nothing of the outer stream."""
    with torch.random.fork_rng(devices=_cuda_devices()):
        torch.manual_seed(seed)
        yield


def rng_state() -> dict:
    """The global generators' states (CPU, and CUDA when present), as plain tensors."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
