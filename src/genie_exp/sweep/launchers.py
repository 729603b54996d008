"""Launcher plugins are optional extras: name the missing one in one line instead of Hydra's report."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional

from omegaconf import OmegaConf

# The launchers the plugins register in Hydra's ConfigStore (group hydra/launcher) when installed.
PLUGINS = {"joblib": ("hydra_plugins.hydra_joblib_launcher", "hydra-joblib-launcher"),
           "submitit_local": ("hydra_plugins.hydra_submitit_launcher", "hydra-submitit-launcher"),
           "submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "hydra-submitit-launcher")}


def _bases(name: str, launcher_dir: Path) -> list[str]:
    """`name` itself, or for one of our presets the launcher configs its defaults list extends."""
    preset = launcher_dir / f"{name}.yaml"
    if not preset.is_file():
        return [name]
    defaults = OmegaConf.load(preset).get("defaults", [])
    return [d for d in defaults if isinstance(d, str) and d != "_self_" and d != name]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def launcher_problem(name: str, launcher_dir: Path) -> Optional[str]:
    for base in _bases(name, launcher_dir):
        if base in PLUGINS and not _installed(PLUGINS[base][0]):
            return (f"hydra/launcher={name} needs the {PLUGINS[base][1]} plugin "
                    f"(pip install -e '.[sweeps]')")
    return None
