"""One GPU per joblib job on a multi-GPU node.

joblib runs jobs side by side in worker processes that all inherit the same CUDA_VISIBLE_DEVICES, so
without pinning every job would use GPU 0. Each job narrows the list to GPU `job.num % n` before CUDA is
initialised in its process. CUDA reads the variable once per process: a reused worker that has already
initialised CUDA keeps the GPU it has. SLURM (submitit) and the sequential basic launcher need nothing.
"""
from __future__ import annotations

import logging
import os
from typing import MutableMapping, Optional

from omegaconf import OmegaConf

from .jobs import JobInfo

log = logging.getLogger(__name__)
ALL_GPUS_ENV = "GENIE_ALL_GPUS"  # the list before pinning, kept for the next job of a reused worker


def visible_gpus(env: MutableMapping[str, str] = os.environ) -> list[str]:
    visible = env.get(ALL_GPUS_ENV) or env.get("CUDA_VISIBLE_DEVICES", "")
    return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]


def pin_gpu(job: JobInfo, env: MutableMapping[str, str] = os.environ) -> Optional[str]:
    """Set CUDA_VISIBLE_DEVICES to this job's GPU when the launcher is joblib; returns the GPU or None."""
    import torch

    gpus = visible_gpus(env)
    if "joblib" not in job.launcher or len(gpus) < 2:
        return None
    if torch.cuda.is_initialized():
        log.info("job #%d: worker already uses GPU %s", job.num, env.get("CUDA_VISIBLE_DEVICES"))
        return env.get("CUDA_VISIBLE_DEVICES")
    env[ALL_GPUS_ENV] = ",".join(gpus)
    env["CUDA_VISIBLE_DEVICES"] = gpus[job.num % len(gpus)]
    log.info("job #%d pinned to GPU %s of %s", job.num, env["CUDA_VISIBLE_DEVICES"], env[ALL_GPUS_ENV])
    return env["CUDA_VISIBLE_DEVICES"]


# `${genie_n_gpus:}` in conf/hydra/launcher/joblib_gpus.yaml: one worker per visible GPU (at least 1).
# Counted from the environment, not torch, so the parent never initialises CUDA.
OmegaConf.register_new_resolver("genie_n_gpus", lambda: max(1, len(visible_gpus())), replace=True)
