"""The Hydra entry shared by `python -m genie_exp` and `python -m genie_exp.train`.

Before Hydra runs, the overrides are composed once here (each sweep value on its own) so that a
mistake ends in one line naming the problem and the valid choices, not a multi-line report.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

import hydra
from omegaconf import DictConfig, OmegaConf

from .core import signals
from .core.errors import UserError, did_you_mean, print_error
from .core.rundir import claim, is_secondary_rank
from .core.tee import tee_to
from .sweep.launchers import launcher_problem

def _conf_dir() -> Path:
    """The configs: the package genie_exp.conf (the top-level conf/ folder, mapped there by setup.cfg),
    wherever the package is installed; the source tree's conf/ when it runs from src/ uninstalled."""
    try:
        from importlib.resources import files

        return Path(str(files("genie_exp.conf")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "conf"


CONF_DIR = _conf_dir()


def register_configs() -> None:
    """The dataclasses of config.py as Hydra's schema (`base_config`), and the `genie_pid` resolver of
    the default run dir (this process's id, so two runs started in the same second differ)."""
    from hydra.core.config_store import ConfigStore

    from .config import Config

    ConfigStore.instance().store(name="base_config", node=Config)
    OmegaConf.register_new_resolver("genie_pid", lambda: str(os.getpid()), replace=True)
HYDRA_FLAGS_OK = {"-m", "--multirun"}


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def _keys_under(cfg: DictConfig, key: str) -> list[str]:
    parent = key.rsplit(".", 1)[0] if "." in key else ""
    node = OmegaConf.select(cfg, parent) if parent else cfg
    return sorted(node.keys()) if isinstance(node, DictConfig) else []


def _variants(overrides: list) -> list[list[str]]:
    """The override lists to compose: every sweep value once (not the cross product)."""
    fixed = [o.input_line for o in overrides if not o.is_sweep_override()]
    variants = [fixed]
    for o in overrides:
        if o.is_sweep_override():
            prefix = {"ADD": "+", "FORCE_ADD": "++", "DEL": "~"}.get(o.type.name, "")
            values = list(o.sweep_string_iterator())
            variants = [v + [f"{prefix}{o.key_or_group}={val}"] for v in variants[:1] for val in values] + variants[1:]
    return variants


def _dir_problem(key: str, value: str) -> Optional[str]:
    """Hydra creates the run dir (and its log file) with tracebacks if it cannot; say it in one line
    instead: a file in the way, a read-only or full file system, no permission."""
    if "${" in value:
        return None  # interpolations (the timestamped default) are Hydra's to resolve
    path = Path(value).expanduser().absolute()
    for parent in [path, *path.parents]:
        if parent.exists():
            if not parent.is_dir():
                return f"{key}={value}: cannot create a directory there ({parent} is a file)"
            break
    return _unwritable(key, value, path)


def _unwritable(key: str, value: str, path: Path) -> Optional[str]:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        return f"{key}={value}: cannot write there ({e.strerror or e})"
    return None


def preflight(args: list[str], config_name: str) -> Optional[str]:
    """None if the command line composes and validates, else a one-line reason."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from .validate import validate, validate_settings

    if any(a.startswith("-") and a not in HYDRA_FLAGS_OK for a in args):
        return None  # --help, --cfg, -cn ...: Hydra's own business
    lines = [a for a in args if not a.startswith("-")]
    try:
        overrides = OverridesParser.create().parse_overrides(lines)
    except HydraException as e:
        return (f"cannot parse the overrides: {str(e).splitlines()[0]} (quote a value that holds characters "
                f"such as ~ or spaces: key='value')")
    for o in overrides:
        if o.key_or_group == "hydra/launcher" and not o.is_sweep_override():
            problem = launcher_problem(o.get_value_element_as_str(), CONF_DIR / "hydra" / "launcher")
            if problem:
                return problem
        if o.key_or_group in ("hydra.run.dir", "hydra.sweep.dir") and not o.is_sweep_override():
            problem = _dir_problem(o.key_or_group, o.get_value_element_as_str())
            if problem:
                return problem
        if o.key_or_group == "model.blocks" and not o.is_sweep_override() and not o.is_delete():
            value = o.value()
            if not isinstance(value, list):
                return (f"model.blocks must be a list of class names, e.g. model.blocks=[{value}] "
                        f"(got model.blocks={o.get_value_element_as_str()})")
    run_dirs = [o for o in overrides if o.key_or_group in ("hydra.run.dir", "hydra.sweep.dir")]
    if not run_dirs:  # the default run dir is made under the working directory
        problem = _unwritable("the run dir", "its default under the working directory", Path.cwd())
        if problem:
            return problem
    overrides = [o for o in overrides if not o.key_or_group.startswith("hydra")]
    for o in overrides:
        if o.key_or_group == "model" and o.type.name == "CHANGE":
            return (f"write +model={o.get_value_element_as_str() if not o.is_sweep_override() else '...'} (with a +: "
                    f"model is not in the defaults list, so a model is added, not replaced)")
        group = o.key_or_group
        if (CONF_DIR / group).is_dir() and "." not in group:
            values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.get_value_element_as_str()]
            for v in values:
                if v not in group_options(group):
                    options = group_options(group)
                    return f"unknown {group} '{v}'{did_you_mean(v, options)} (choose from: {', '.join(options)})"
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        base = compose(config_name)
        composed = []
        for variant in _variants(overrides):
            try:
                cfg = compose(config_name, overrides=variant)
                validate_settings(cfg)  # torch not loaded yet: the common mistakes answered in a second
                composed.append(cfg)
            except UserError as e:
                return str(e)
            except (HydraException, OmegaConfBaseException) as e:
                cause = e.__cause__ or e
                for line in variant:
                    key = line.lstrip("+~").split("=", 1)[0]
                    if f"'{key}'" in str(e) or f"full_key: {key}" in str(cause):
                        if "not in struct" in str(cause) or "Could not override" in str(e):
                            valid = _keys_under(base, key)
                            parent = key.rsplit(".", 1)[0] + "." if "." in key else ""
                            hint = did_you_mean(key, [parent + k for k in valid])
                            return f"unknown key '{key}'{hint}" + (f" (valid keys here: {', '.join(valid)})" if valid else "")
                        return f"{line}: {str(cause).splitlines()[0]}"
                return str(cause).splitlines()[0]
        for cfg in composed:
            try:
                validate(cfg)
            except UserError as e:
                return str(e)
    return None


def _is_multirun_command(args: list[str]) -> bool:
    return any(a in HYDRA_FLAGS_OK for a in args) or "hydra.mode=MULTIRUN" in args


RUN_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir")
_PLAIN_PATH = re.compile(r"^[\w/.\-]+$")


def expand_home(args: list[str]) -> list[str]:
    """`hydra.run.dir=~/x` as $HOME/x: Hydra would make a folder literally named `~` (while the run dir
    lock, which expands it, would sit elsewhere)."""
    out = []
    for a in args:
        key, sep, value = a.partition("=")
        bare = value.strip("'\"")
        if sep and key.lstrip("+") in RUN_DIR_KEYS and bare.startswith("~"):
            path = os.path.expanduser(bare)
            a = f"{key}={path}" if _PLAIN_PATH.match(path) else f"{key}='{path}'"
        out.append(a)
    return out


def _explicit_run_dir(args: list[str]) -> Optional[Path]:
    for a in args:
        if a.startswith("hydra.run.dir="):
            return Path(a.split("=", 1)[1].strip("'\"")).expanduser().absolute()
    return None


def hydra_entry(task: Callable[[DictConfig], object], config_name: str = "config") -> None:
    """Run `task(cfg)` under Hydra; user mistakes print `error: <one line>` and exit 2; SIGTERM and
    Ctrl-C print where the run stopped and exit 143 / 130 (core/signals.py).

    A multirun keeps going past a failed job (see sweep/jobs.py) and exits 2 after the sweep if any
    job failed; an interrupted job stops the sweep. A single run stops at the mistake."""
    from .sweep import current_job, is_multirun, pin_gpu, run_guarded, sweep_callback_override, take_failures

    signals.install()
    register_configs()
    sys.argv[1:] = expand_home(sys.argv[1:])
    args = sys.argv[1:]
    reason = preflight(args, config_name)
    if reason:
        print_error(reason)
        sys.exit(2)
    multirun = _is_multirun_command(args)
    run_dir = _explicit_run_dir(args)
    if run_dir is not None and not multirun and not is_secondary_rank() and "--cfg" not in args:
        try:  # before Hydra writes its .hydra/ files there
            claim(run_dir)
        except UserError as e:
            print_error(str(e))
            sys.exit(2)

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def _main(cfg: DictConfig):
        from hydra.core.hydra_config import HydraConfig

        log_file = Path(HydraConfig.get().runtime.output_dir) / "cli.log"
        if is_multirun():
            job = current_job()
            pin_gpu(job)
            with tee_to(log_file):
                return run_guarded(task, cfg, job)
        with tee_to(log_file):  # the error line belongs in the run's log too
            try:
                return task(cfg)
            except UserError as e:
                rank = os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) if "WORLD_SIZE" in os.environ else "0"
                print_error(f"{'' if rank == '0' else f'(rank {rank}) '}{e}")
                sys.exit(2)
            except signals.Interrupted as e:
                print_error(e.line())
                sys.exit(e.exit_code)

    if multirun and not any(a.startswith("-") and a not in HYDRA_FLAGS_OK for a in args):
        sys.argv.append(sweep_callback_override())  # learns the sweep dir, collects failed.json at the end
    try:
        _main()
    except signals.Interrupted as e:  # a multirun: the interrupted job is recorded, the sweep stops
        print_error(f"the sweep stopped: {e.line()}")
        sys.exit(e.exit_code)
    failed = take_failures() if multirun else []
    if failed:
        dirs = ", ".join(f["dir"] for f in failed)
        print_error(f"{len(failed)} sweep job(s) failed; see failed.json in {dirs}")
        sys.exit(2)
