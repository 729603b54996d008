"""Resumable reconstruction: after every unit the student's state, the finished units and their
results go atomically to `<cache_dir>/recon/<key>.pt`, where the key hashes everything that
determines the result (teacher weights, calibration images, quant / quantizer / recon config, extra
blocks, seed). The run dir is not used: its default name holds a timestamp, so a restart could not
find it. Read back with weights_only=True like every other checkpoint."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from omegaconf import DictConfig, OmegaConf

from ..calib.cache import safe_name, weights_digest
from ..errors import UserError
from ..io_utils import load_torch, save_torch
from ..quant.weight import WeightQuantizer
from ..rng import rng_state, set_rng_state

log = logging.getLogger(__name__)
VERSION = 3  # 3: units from the graph plan, batch indices drawn per chunk, 1-bit QDrop masks


def tensor_digest(x: torch.Tensor) -> str:
    return hashlib.sha256(x.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest()


def recon_key(teacher: nn.Module, calib: torch.Tensor, cfg: DictConfig) -> str:
    def plain(node: Any) -> Any:
        return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node

    blob = json.dumps({"version": VERSION, "teacher": weights_digest(teacher), "calib": tensor_digest(calib),
                       "quant": plain(cfg.quant), "quantizer": plain(cfg.quantizer), "recon": plain(cfg.recon),
                       "blocks": list(cfg.model.blocks), "seed": int(cfg.seed),
                       **({"precision": str(cfg.trainer.precision)} if str(cfg.trainer.precision) != "32-true" else {})},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def checkpoint_path(cache_dir: str | Path, key: str) -> Path:
    """Sanitised: whatever `key` holds, the file is directly inside `<cache_dir>/recon/`."""
    return Path(cache_dir) / "recon" / f"{safe_name(key)}.pt"


def _weight_quantizers(model: nn.Module) -> dict[str, WeightQuantizer]:
    return {n: m for n, m in model.named_modules() if isinstance(m, WeightQuantizer)}


class ReconCheckpoint:
    """`restore` before the first unit, `save` after each one, `discard` once metrics.json exists."""

    def __init__(self, path: Path, resume: bool = True):
        self.path, self.resume = Path(path), resume

    @classmethod
    def for_run(cls, cfg: DictConfig, teacher: nn.Module, calib: torch.Tensor) -> "ReconCheckpoint":
        return cls(checkpoint_path(cfg.paths.cache_dir, recon_key(teacher, calib, cfg)), bool(cfg.get("resume", True)))

    def save(self, student: nn.Module, results: list[dict]) -> None:
        state = {k: v.detach().cpu() for k, v in student.state_dict().items()}
        # `frozen` is not in the state dict: the mode says which quantizers to freeze again on load.
        modes = {n: q.mode for n, q in _weight_quantizers(student).items()}
        save_torch({"version": VERSION, "state": state, "modes": modes, "results": results,
                    "rng": rng_state()}, self.path)

    def restore(self, student: nn.Module) -> dict[str, dict]:
        """Load a previous run's progress into `student`; the finished units' results by name
        ({} if there is none, resume=false, or it is damaged / does not fit: then start over)."""
        if not self.resume or not self.path.is_file():
            return {}
        try:
            ckpt = load_torch(self.path, "recon checkpoint")
            state, modes, results = ckpt["state"], ckpt["modes"], ckpt["results"]
            self._check(student, state, modes)
        except (UserError, KeyError, TypeError, ValueError) as e:
            log.warning("recon checkpoint %s is unusable (%s): starting over", self.path, e)
            print(f"warning: recon checkpoint {self.path} is unusable; reconstructing from the start", flush=True)
            return {}
        student.load_state_dict(state)  # copies into the existing tensors, whatever their device
        with torch.no_grad():
            for name, q in _weight_quantizers(student).items():
                q.unfreeze()
                q.mode = modes[name]
                if q.mode == "hard":  # a finished unit: its weights are fixed as they were
                    student.get_submodule(name.rpartition(".")[0]).freeze()
        set_rng_state(ckpt["rng"])
        done = {r["name"]: r for r in results}
        log.info("recon: resuming from %s (%d unit(s) done)", self.path, len(done))
        print(f"resuming reconstruction: {len(done)} unit(s) already done ({self.path})", flush=True)
        return done

    @staticmethod
    def _check(student: nn.Module, state: Any, modes: Any) -> None:
        # Checked before loading anything, so a mismatch never leaves the student half-loaded.
        own = student.state_dict()
        if not isinstance(state, dict) or set(state) != set(own):
            raise UserError("its keys do not match the student")
        bad = [k for k in own if not isinstance(state[k], torch.Tensor) or state[k].shape != own[k].shape]
        if bad:
            raise UserError(f"wrong shape for {bad[0]}")
        if not isinstance(modes, dict) or set(modes) != set(_weight_quantizers(student)) \
                or not set(modes.values()) <= {"nearest", "soft", "hard"}:
            raise UserError("its quantizer modes do not match the student")

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

