"""Multirun support: per-job failure records, the end-of-sweep verdict, GPU pinning for joblib."""
from .gpus import pin_gpu, visible_gpus
from .jobs import FAILED_NAME, JobInfo, current_job, is_multirun, run_guarded
from .status import SweepStatus, sweep_callback_override, sweep_failures, take_failures

__all__ = ["FAILED_NAME", "JobInfo", "SweepStatus", "current_job", "is_multirun", "pin_gpu", "run_guarded",
           "sweep_callback_override", "sweep_failures", "take_failures", "visible_gpus"]
