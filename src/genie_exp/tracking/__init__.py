"""Experiment tracking beyond the CSV logs: Weights & Biases (logger=wandb)."""
from .mode import has_credentials, resolve_mode
from .naming import run_name, run_tags, sweep_group
from .trackers import TRACKERS, start_tracker
from .wandb_run import WandbTracker, start_wandb

__all__ = ["TRACKERS", "WandbTracker", "has_credentials", "resolve_mode", "run_name", "run_tags", "start_tracker", "start_wandb", "sweep_group"]
