"""`--wandb ENTITY/PROJECT`: the runs of a W&B project as metrics.json-like rows (public API, online)."""
from __future__ import annotations

import os
from typing import Any, Mapping

from ..core.errors import UserError
from .collect import BASIC
from ..core.extras import require
from ..tracking.mode import has_credentials


def _plain(obj: Any) -> Any:
    """The public API hands back its own mapping types: plain dicts, so the rest sees JSON data."""
    if isinstance(obj, Mapping) or hasattr(obj, "items"):
        return {str(k): _plain(v) for k, v in obj.items()}
    return obj


def row_from_run(run: Any) -> dict | None:
    """A row from a run logged by `logger=wandb` (its summary holds `metrics`); None for other runs."""
    summary = _plain(run.summary)
    m = summary.get("metrics")
    if not isinstance(m, dict) or "quant_top1" not in m or "fp32_top1" not in m:
        return None
    seconds = dict(m.get("seconds") or {})
    seconds.setdefault("total", float(summary.get("_runtime", 0.0)))
    settings = m.get("settings") if isinstance(m.get("settings"), dict) else {v: m.get(k) for k, v in BASIC.items()}
    row = {"calib": m.get("distill", "?"), "dataset": "?", "n_samples": 0, "seed": 0, **m}
    return {**row, "seconds": seconds, "_path": getattr(run, "url", None) or getattr(run, "path", ""),
            "_settings": dict(settings)}


def runs_from_wandb(project_path: str, env: Mapping[str, str] = os.environ) -> list[dict]:
    """Finished runs of ENTITY/PROJECT; a UserError (one line) when offline or the server says no."""
    mode = env.get("WANDB_MODE", "")
    if mode in ("offline", "disabled", "dryrun"):
        raise UserError(f"--wandb reads the W&B server, but WANDB_MODE={mode}; for offline runs use "
                        f"`wandb sync <run dir>/wandb/offline-run-*` first, or pass the run dirs instead")
    if project_path.count("/") != 1 or not all(project_path.split("/")):
        raise UserError(f"--wandb takes ENTITY/PROJECT, got '{project_path}'")
    if not has_credentials(env):
        raise UserError("--wandb needs W&B credentials (WANDB_API_KEY or `wandb login`)")
    wandb = require("wandb", "--wandb")

    try:
        runs = list(wandb.Api(timeout=30).runs(project_path, filters={"state": "finished"}))
    except Exception as e:  # noqa: BLE001 - network, auth, unknown project: one line either way
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise UserError(f"cannot read W&B runs of {project_path} ({type(e).__name__}: {first})") from None
    return [row for row in map(row_from_run, runs) if row is not None]
