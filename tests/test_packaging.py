"""The package as users install it: a wheel that holds every package, the configs and the shipped
teachers, and a non-editable install whose CLI (`python -m genie_exp`, `genie-exp`) starts."""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _listed_packages() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return {p.strip() for p in cfg["options"]["packages"].split() if p.strip()}


def test_setup_cfg_lists_every_package():
    found = {".".join(p.parent.relative_to(REPO / "src").parts) for p in (REPO / "src" / "genie_exp").rglob("__init__.py")}
    assert _listed_packages() == found | {"genie_exp.conf"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (the build leaves nothing in the repo)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("src", "conf", "setup.cfg", "pyproject.toml", "README.md"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(src),
                        "-w", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = out.glob("genie_exp-*.whl")
    return whl


def test_the_wheel_holds_the_configs_and_the_teachers(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"genie_exp/conf/{p.relative_to(REPO / 'conf').as_posix()}" for p in (REPO / "conf").rglob("*.yaml")}
    assert configs and configs <= names
    assert {f"genie_exp/models/zoo/{p.name}" for p in (REPO / "src/genie_exp/models/zoo").glob("*.pt")} <= names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_an_installed_copy_runs_the_cli(wheel, tmp_path):
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import genie_exp, genie_exp.cli as c; print(genie_exp.__file__); "
                            "print(c.CONF_DIR)"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert where.stdout.splitlines() == [str(site / "genie_exp" / "__init__.py"), str(site / "genie_exp" / "conf")]
    for command in ([sys.executable, "-m", "genie_exp"], [str(site / "bin" / "genie-exp")]):
        r = subprocess.run([*command, "--cfg", "job", "+model=mobilenetv2", "quant.w=2"], capture_output=True,
                           text=True, cwd=tmp_path, env=env, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "name: mobilenetv2" in r.stdout and "w: 2" in r.stdout
