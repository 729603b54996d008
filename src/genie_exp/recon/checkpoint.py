"""Resumable reconstruction: after every unit the student's state, the finished units and their
results go atomically to `<cache_dir>/recon/<key>.pt`, where the key hashes everything that
determines the result (teacher weights, calibration images, quant / quantizer / recon config, extra
blocks, seed). The run dir is not used: its default name holds a timestamp, so a restart could not
find it. Read back with weights_only=True like every other checkpoint."""
from __future__ import annotations

import atexit
import dataclasses
import logging
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
import torch.nn as nn

from ..config import QuantConfig, ReconConfig
from ..core.context import RunContext

from ..core.hashing import key_of, safe_name, tensor_digest, weights_digest, with_precision
from ..core.errors import UserError, warn
from ..core.io import load_torch, save_torch
from ..core.locks import release, try_lock
from ..core.rng import rng_state, set_rng_state

log = logging.getLogger(__name__)
VERSION = 4  # of the checkpoint's layout, part of its key: a checkpoint of another layout is never read


def recon_key(teacher: nn.Module, calib: torch.Tensor, quant: QuantConfig, quantizer: str, recon: ReconConfig,
              blocks: Sequence[str], seed: int, precision: str) -> str:
    return key_of(with_precision({
        "version": VERSION, "teacher": weights_digest(teacher), "calib": tensor_digest(calib),
        "quant": dataclasses.asdict(quant), "quantizer": {"name": str(quantizer)}, "recon": dataclasses.asdict(recon),
        "blocks": list(blocks), "seed": int(seed)}, str(precision)))


def checkpoint_path(cache_dir: str | Path, key: str) -> Path:
    """Sanitised: whatever `key` holds, the file is directly inside `<cache_dir>/recon/`."""
    return Path(cache_dir) / "recon" / f"{safe_name(key)}.pt"


class ReconCheckpoint:
    """`restore` before the first unit, `save` after each one, `discard` once metrics.json exists.

    One process at a time owns a checkpoint (a lock file beside it, core/locks.py): a second run of
    the same setting on the same cache reconstructs without it rather than taking over a live run's
    progress (and reporting that run's units as its own)."""

    def __init__(self, path: Path, resume: bool = True):
        self.path, self.resume = Path(path), resume
        self.lock = self.path.with_name(self.path.name + ".lock")
        self.owned: Optional[bool] = None  # decided on first use

    def _own(self) -> bool:
        if self.owned is None:
            holder = try_lock(self.lock)
            self.owned = holder is None
            if self.owned:
                atexit.register(release, self.lock)
            else:
                print(f"note: recon checkpoint {self.path} is in use by another run (pid {holder}); this run "
                      f"reconstructs without it", flush=True)
        return self.owned

    @classmethod
    def for_run(cls, teacher: nn.Module, calib: torch.Tensor, quant: QuantConfig, quantizer: str,
                recon: ReconConfig, blocks: Sequence[str], ctx: RunContext) -> "ReconCheckpoint":
        """The checkpoint of this setting in ctx.cache_dir (which must be set)."""
        key = recon_key(teacher, calib, quant, quantizer, recon, blocks, ctx.seed, ctx.precision)
        return cls(checkpoint_path(ctx.cache_dir, key), ctx.resume)

    def follow(self, world: Any) -> None:
        """In a DDP world rank 0 alone takes the lock; every rank then uses the checkpoint or not as
        rank 0 does (the ranks must agree on which units are done)."""
        if world.size == 1:
            return
        flag = torch.tensor([1.0 if world.is_main and self._own() else 0.0])
        self.owned = bool(world.all_gather(flag)[0, 0] > 0.5)

    def save(self, student: nn.Module, results: list[dict]) -> None:
        if not self._own():
            return
        # Everything that decides the student's output is in its state dict (quantizer modes too).
        state = {k: v.detach().cpu() for k, v in student.state_dict().items()}
        save_torch({"version": VERSION, "state": state, "results": results, "rng": rng_state()}, self.path)

    def restore(self, student: nn.Module) -> dict[str, dict]:
        """Load a previous run's progress into `student`; the finished units' results by name
        ({} if there is none, resume=false, or it is damaged / does not fit: then start over)."""
        if not self._own() or not self.resume or not self.path.is_file():
            return {}
        try:
            ckpt = load_torch(self.path, "recon checkpoint")
            if not isinstance(ckpt, dict):
                raise UserError("not a dict")
            state, results, rng = ckpt["state"], ckpt["results"], ckpt["rng"]
            self._check(student, state, results, rng)
        except (UserError, KeyError, TypeError, ValueError) as e:
            warn(f"recon checkpoint {self.path} is unusable ({e}); reconstructing from the start")
            return {}
        student.load_state_dict(state)  # copies into the existing tensors; modes and flags come with it
        set_rng_state(rng)
        done = {r["name"]: r for r in results}
        log.info("recon: resuming from %s (%d unit(s) done)", self.path, len(done))
        print(f"resuming reconstruction: {len(done)} unit(s) already done ({self.path})", flush=True)
        return done

    @staticmethod
    def _check(student: nn.Module, state: Any, results: Any, rng: Any) -> None:
        # Checked before loading anything, so a mismatch never leaves the student half-loaded.
        own = student.state_dict()
        if not isinstance(state, dict) or set(state) != set(own):
            raise UserError("its keys do not match the student")
        bad = [k for k in own if not isinstance(state[k], torch.Tensor) or state[k].shape != own[k].shape]
        if bad:
            raise UserError(f"wrong shape for {bad[0]}")
        nonfinite = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if nonfinite:
            raise UserError(f"non-finite values in {nonfinite[0]}")
        if not isinstance(results, list) or not all(isinstance(r, dict) and isinstance(r.get("name"), str)
                                                    for r in results):
            raise UserError("its unit results are not a list of named results")
        if not isinstance(rng, dict) or not isinstance(rng.get("cpu"), torch.Tensor):
            raise UserError("it holds no random state")

    def discard(self) -> None:
        if self._own():
            self.path.unlink(missing_ok=True)
            release(self.lock)

