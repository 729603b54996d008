#!/usr/bin/env python
"""The reliability cases of experiments/reliability/README.md, tried as a user would: crafted files and
configs, config objects handed to the API, sweeps restarted, garbage scored, settings recorded, run dirs,
the caller's model, shared caches, signals, raw errors.

    python experiments/reliability/cases.py [--only NAME ...] [--out FILE.json] [--list]

Every case runs in its own fresh temp directory (tempfile) with GENIE_CACHE_DIR inside it,
WANDB_MODE=offline and OMP_NUM_THREADS=1; every genie_exp call happens in a subprocess of
`sys.executable` with this process's environment (PYTHONPATH included), so the genie_exp under test is
whichever one the interpreter running this script imports. One subprocess computes at a time (the
shared-cache case stops its first run with SIGSTOP while the second one runs). Prints a markdown table
`| case | outcome |` and writes {case: outcome} as JSON with --out. Budgets are tiny (CPU, minutes).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable, Optional

PY = sys.executable
TINY = ["model.pretrained=false", "distill.samples=16", "distill.batch_size=8", "distill.iters=2", "recon.iters=2",
        "recon.batch_size=8", "quant.calib_samples=16", "data.eval_samples=32", "progress=false"]
MAX_OUTCOME = 120
ROOT: Path = Path(".")  # set in main(): this run's temp root
CASES: dict[str, Callable[[Path], str]] = {}


def case(fn: Callable[[Path], str]) -> Callable[[Path], str]:
    CASES[fn.__name__] = fn
    return fn


# ---------------------------------------------------------------------------------------------------
# subprocess helpers
# ---------------------------------------------------------------------------------------------------
class Result:
    def __init__(self, rc: Optional[int], out: str, err: str, seconds: float, timed_out: bool):
        self.rc, self.out, self.err, self.seconds, self.timed_out = rc, out, err, seconds, timed_out

    @property
    def text(self) -> str:
        return self.out + "\n" + self.err


def env_for(tmp: Path, **extra: str) -> dict:
    env = dict(os.environ)  # PYTHONPATH and everything else inherited: the genie_exp under test
    env.update({"GENIE_CACHE_DIR": str(tmp / "cache"), "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "BROWSER": "true"})
    env.update(extra)
    return env


def _limit_memory(gib: float) -> Callable[[], None]:
    def apply() -> None:
        import resource

        limit = int(gib * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def start(cmd: list[str], cwd: Path, env: dict, mem_gib: Optional[float] = None) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_limit_memory(mem_gib) if mem_gib else None)


def finish(p: subprocess.Popen, timeout: float, t0: float) -> Result:
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_group(p)
        out, err = p.communicate()
        timed_out = True
    return Result(None if timed_out else p.returncode, out or "", err or "", time.time() - t0, timed_out)


def kill_group(p: subprocess.Popen) -> None:
    """SIGKILL the process group of a child this script started (its own session)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(cmd: list[str], cwd: Path, env: dict, timeout: float = 240, mem_gib: Optional[float] = None) -> Result:
    t0 = time.time()
    return finish(start(cmd, cwd, env, mem_gib), timeout, t0)


def cli(tmp: Path, args: list[str], tiny: bool = True, timeout: float = 240, cwd: Optional[Path] = None,
        env: Optional[dict] = None, mem_gib: Optional[float] = None, flags: tuple = ()) -> Result:
    """`python -m genie_exp [flags] [TINY] args` (Hydra's flags such as --config-dir must come first)."""
    cmd = [PY, "-m", "genie_exp", *flags, *(TINY if tiny else []), *args]
    return run(cmd, cwd or tmp, env or env_for(tmp), timeout, mem_gib)


def first_error(text: str) -> Optional[str]:
    for line in text.splitlines():
        if line.startswith("error:"):
            return line
    return None


def last_line(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def short(text: str, n: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def exit_text(rc: Optional[int]) -> str:
    if rc is not None and rc < 0:
        try:
            return f"exit {rc} (killed by {signal.Signals(-rc).name})"
        except ValueError:
            pass
    return f"exit {rc}"


def exception_line(text: str) -> str:
    """The last `SomeError: ...` line of a traceback (else the last line)."""
    found = [l.strip() for l in text.splitlines()
             if re.match(r"^\s*[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", l)]
    return found[-1] if found else last_line(text)


def cli_summary(r: Result, n: int = 70) -> str:
    """exit status, the first `error:` line, and whether stderr holds a traceback."""
    if r.timed_out:
        head = f"killed after the {r.seconds:.0f} s timeout"
    else:
        head = exit_text(r.rc)
    err = first_error(r.err) or first_error(r.out)
    if err:  # a case's temp dir as <tmp>
        err = re.sub(re.escape(str(ROOT)) + r"/[^/\s]+", "<tmp>", err)
    tb = f"traceback ({len(r.err.splitlines())} stderr lines)" if "Traceback" in r.err else ""
    parts = [head]
    if err:
        parts.append(short(err, n))
    if tb:
        parts.append(tb)
        if not err:
            parts.append(short(exception_line(r.err), 60))
    return "; ".join(parts)


def metrics_of(run_dir: Path) -> Optional[dict]:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())  # Python's json accepts NaN


# A tiny model for the API cases: conv-bn-relu, a torchvision BasicBlock, conv-bn-relu, pool, linear.
TINYNET = '''
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock


class Tiny(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.block = BasicBlock(8, 8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.block(x)
        x = self.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class NaNNet(nn.Module):
    """NaN logits whatever the input."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.full((x.shape[0], 10), float("nan")) + self.w


def make(seed: int = 0) -> Tiny:
    torch.manual_seed(seed)
    m = Tiny()
    with torch.no_grad():  # BN statistics that are not the defaults, as a trained model has
        for bn in m.modules():
            if isinstance(bn, nn.BatchNorm2d):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
    return m.eval()


def images(n: int = 16, seed: int = 1):
    return torch.randn(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed))
'''

PRELUDE = '''
import json, os, sys, signal, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(1)
import genie_exp
from genie_exp.config import DistillConfig, QuantConfig, ReconConfig
from tinynet import Tiny, NaNNet, make, images


def emit(**kw):
    print("RESULT " + json.dumps(kw, default=str), flush=True)


def describe(e):
    text = " ".join((str(e).splitlines() or [""])[0].split())[:90]
    kind = "UserError" if isinstance(e, genie_exp.UserError) else "raw " + type(e).__name__
    return f"{kind}: {text}"


def count_adam_steps():
    """Counts optimizer steps (every Adam step of reconstruction or distillation)."""
    counter = [0]
    orig = torch.optim.Adam.step

    def step(self, *a, **k):
        counter[0] += 1
        return orig(self, *a, **k)
    torch.optim.Adam.step = step
    return counter


def bn_hooks(model):
    return sum(len(m._forward_pre_hooks) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
'''


def api(tmp: Path, code: str, timeout: float = 180, env: Optional[dict] = None,
        prefix: str = "") -> tuple[Optional[dict], Result]:
    """Run PRELUDE + prefix + code in a subprocess whose cwd holds tinynet.py; the last `RESULT {json}` line."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "tinynet.py").write_text(TINYNET)
    r = run([PY, "-c", PRELUDE + prefix + textwrap.dedent(code)], tmp, env or env_for(tmp), timeout)
    found = None
    for line in r.out.splitlines():
        if line.startswith("RESULT "):
            found = json.loads(line[len("RESULT "):])
    return found, r


def api_failed(r: Result) -> str:
    if r.timed_out:
        return f"the snippet was killed after the {r.seconds:.0f} s timeout"
    return f"the snippet died (exit {r.rc}): {short(last_line(r.err), 80)}"


# ---------------------------------------------------------------------------------------------------
# shared fixtures (computed once, lazily)
# ---------------------------------------------------------------------------------------------------
_memo: dict = {}


def base_run() -> tuple[Path, Result]:
    """One plain tiny CLI run (resnet20, random weights): its run dir holds quantized.pt and metrics.json."""
    if "base" not in _memo:
        tmp = Path(tempfile.mkdtemp(prefix="base-", dir=ROOT))
        r = cli(tmp, [f"hydra.run.dir={tmp / 'run'}"])
        _memo["base"] = (tmp / "run", r)
    return _memo["base"]


def base_artifact() -> Path:
    run_dir, r = base_run()
    path = run_dir / "quantized.pt"
    if not path.is_file():
        raise RuntimeError(f"the base CLI run made no quantized.pt ({cli_summary(r)})")
    return path


def torch_mod():
    import torch

    torch.set_num_threads(1)
    return torch


def crafted_artifact(tmp: Path, model_ref: dict) -> Path:
    """A real quantized.pt whose model reference is replaced (still loads with weights_only=True)."""
    torch = torch_mod()
    blob = torch.load(base_artifact(), map_location="cpu", weights_only=True)
    blob["model"] = model_ref
    out = tmp / "evil" / "quantized.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(blob, out)
    torch.load(out, map_location="cpu", weights_only=True)  # still a weights_only file
    return out


def marker_note(marker: Path) -> str:
    return "COMMAND RAN (marker created)" if marker.exists() else "command did not run (no marker)"


def wait_for(pattern: str, folder: Path, timeout: float, proc: subprocess.Popen) -> Optional[Path]:
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        found = sorted(folder.glob(pattern)) if folder.is_dir() else []
        if found:
            return found[0]
        time.sleep(0.05)
    return None


# ---------------------------------------------------------------------------------------------------
# 1. a crafted quantized.pt runs code
# ---------------------------------------------------------------------------------------------------
def _load_crafted(tmp: Path, ref: dict, marker: Path) -> str:
    path = crafted_artifact(tmp, ref)
    res, r = api(tmp, f'''
        try:
            genie_exp.load_quantized({str(path)!r})
            emit(error=None)
        except BaseException as e:
            emit(error=describe(e))
    ''')
    if res is None:
        return f"{marker_note(marker)}; {api_failed(r)}"
    return f"{marker_note(marker)}; then {short(res['error'] or 'returned a model', 80)}"


@case
def artifact_os_system_load_quantized(tmp: Path) -> str:
    marker = tmp / "PWNED"
    return _load_crafted(tmp, {"kind": "target", "target": "os.system", "kwargs": {"command": f"touch {marker}"},
                               "factory": True}, marker)


@case
def artifact_getoutput_load_quantized(tmp: Path) -> str:
    marker = tmp / "PWNED"
    return _load_crafted(tmp, {"kind": "target", "target": "subprocess.getoutput",
                               "kwargs": {"cmd": f"touch {marker}"}, "factory": True}, marker)


def _export_crafted(tmp: Path, ref: dict, marker: Path) -> str:
    path = crafted_artifact(tmp, ref)
    r = run([PY, "-m", "genie_exp.export", str(path.parent), "--format", "onnx"], tmp, env_for(tmp), 180)
    return f"{marker_note(marker)}; export: {cli_summary(r, 60)}"


@case
def artifact_os_system_export_onnx(tmp: Path) -> str:
    marker = tmp / "PWNED"
    return _export_crafted(tmp, {"kind": "target", "target": "os.system", "kwargs": {"command": f"touch {marker}"},
                                 "factory": True}, marker)


@case
def artifact_getoutput_export_onnx(tmp: Path) -> str:
    marker = tmp / "PWNED"
    return _export_crafted(tmp, {"kind": "target", "target": "subprocess.getoutput",
                                 "kwargs": {"cmd": f"touch {marker}"}, "factory": True}, marker)


@case
def artifact_antigravity_import(tmp: Path) -> str:
    path = crafted_artifact(tmp, {"kind": "target", "target": "antigravity.foo", "kwargs": {}, "factory": True})
    res, r = api(tmp, f'''
        try:
            genie_exp.load_quantized({str(path)!r})
            error = None
        except BaseException as e:
            error = describe(e)
        emit(error=error, imported="antigravity" in sys.modules)
    ''')
    if res is None:
        return api_failed(r)
    return (f"antigravity {'IMPORTED' if res['imported'] else 'not imported'} (in sys.modules: {res['imported']}); "
            f"{short(res['error'] or 'no error', 60)}")


# ---------------------------------------------------------------------------------------------------
# 2. the same through the CLI and a config file
# ---------------------------------------------------------------------------------------------------
def _weights_file(tmp: Path) -> Path:
    torch = torch_mod()
    path = tmp / "weights.pt"
    torch.save({"w": torch.zeros(1)}, path)
    return path


@case
def cli_custom_target_os_system(tmp: Path) -> str:
    marker = tmp / "PWNED"
    w = _weights_file(tmp)
    r = cli(tmp, ["+model=custom", "model.target=os.system", "model.factory=true",
                  f"+model.kwargs.command='touch {marker}'", f"model.weights={w}", f"hydra.run.dir={tmp / 'run'}"])
    return f"{marker_note(marker)}; {cli_summary(r, 60)}"


@case
def cli_custom_target_subprocess_getoutput(tmp: Path) -> str:
    marker = tmp / "PWNED"
    w = _weights_file(tmp)
    r = cli(tmp, ["+model=custom", "model.target=subprocess.getoutput", "model.factory=true",
                  f"+model.kwargs.cmd='touch {marker}'", f"model.weights={w}", f"hydra.run.dir={tmp / 'run'}"])
    return f"{marker_note(marker)}; {cli_summary(r, 60)}"


@case
def config_file_os_system(tmp: Path) -> str:
    """A config file a user is handed: conf/model/evil.yaml under --config-dir, used as +model=evil."""
    marker = tmp / "PWNED"
    w = _weights_file(tmp)
    conf = tmp / "handed_conf" / "model"
    conf.mkdir(parents=True)
    (conf / "evil.yaml").write_text(f"name: custom\ntarget: os.system\nfactory: true\nweights: {w}\n"
                                    f"kwargs:\n  command: touch {marker}\n")
    r = cli(tmp, ["+model=evil", f"hydra.run.dir={tmp / 'run'}"], flags=("--config-dir", str(tmp / "handed_conf")))
    return f"{marker_note(marker)}; {cli_summary(r, 60)}"


# ---------------------------------------------------------------------------------------------------
# 3. the API overrides config objects
# ---------------------------------------------------------------------------------------------------
RECON_SPY = '''
import genie_exp.recon.recon_module as _rm
units = []
_orig_init = _rm.ReconModule.__init__
def _init(self, *a, **k):
    _orig_init(self, *a, **k)
    units.append([self.iters, self.batch_size])
_rm.ReconModule.__init__ = _init
steps = count_adam_steps()
'''


@case
def api_quantize_recon_config_16_images(tmp: Path) -> str:
    res, r = api(tmp, prefix=RECON_SPY, code='''
        try:
            q = genie_exp.quantize(make(), images(16), recon=ReconConfig(iters=2, batch_size=8), progress=False)
            emit(error=None, units=units, steps=steps[0])
        except BaseException as e:
            emit(error=describe(e), units=units, steps=steps[0])
    ''')
    if res is None:
        return api_failed(r)
    if res["error"]:
        return f"asked iters=2 batch 8: {short(res['error'], 90)}"
    its = sorted({u[0] for u in res["units"]})
    bs = sorted({u[1] for u in res["units"]})
    return f"asked iters=2 batch 8: ran {res['steps']} Adam steps over {len(res['units'])} units (iters {its}, batch {bs})"


@case
def api_quantize_recon_config_iters(tmp: Path) -> str:
    res, r = api(tmp, prefix=RECON_SPY, code='''
        try:
            q = genie_exp.quantize(make(), images(64), recon=ReconConfig(iters=3, batch_size=16), progress=False)
            emit(error=None, units=units, steps=steps[0])
        except BaseException as e:
            emit(error=describe(e), units=units, steps=steps[0])
    ''', timeout=300)
    if res is None:
        return api_failed(r)
    if res["error"]:
        return f"asked iters=3 batch 16 (64 images): {short(res['error'], 80)}"
    its = sorted({u[0] for u in res["units"]})
    bs = sorted({u[1] for u in res["units"]})
    return (f"asked iters=3 batch 16 (64 images): ran {res['steps']} Adam steps over {len(res['units'])} units "
            f"(iters {its}, batch {bs})")


@case
def api_quantize_quant_config(tmp: Path) -> str:
    res, r = api(tmp, '''
        try:
            q = genie_exp.quantize(make(), images(16), method="rtn", quant=QuantConfig(w=2, a=8), progress=False)
            layers = sorted({int(m.weight_quantizer.bits) for m in q.modules() if hasattr(m, "weight_quantizer")})
            emit(error=None, w=q.genie_report.w_bits, a=q.genie_report.a_bits, convert=q.genie_recipe["convert"],
                 layer_bits=layers)
        except BaseException as e:
            emit(error=describe(e))
    ''')
    if res is None:
        return api_failed(r)
    if res["error"]:
        return f"quant=QuantConfig(w=2, a=8): {short(res['error'], 90)}"
    return (f"quant=QuantConfig(w=2, a=8): report says W{res['w']}A{res['a']}, recipe w_bits={res['convert']['w_bits']} "
            f"a_bits={res['convert']['a_bits']}, layer weight bits {res['layer_bits']}")


@case
def api_distill_config_object(tmp: Path) -> str:
    res, r = api(tmp, '''
        import genie_exp.distillation.module as dm
        methods, calls = [], [0]
        _init, _step = dm.DistillModule.__init__, dm.DistillModule.training_step
        def init(self, teacher, spec, *a, **k):
            methods.append(spec.name)
            _init(self, teacher, spec, *a, **k)
        def step(self, *a, **k):
            calls[0] += 1
            return _step(self, *a, **k)
        dm.DistillModule.__init__, dm.DistillModule.training_step = init, step
        try:
            x = genie_exp.distill(make(), config=DistillConfig(name="zeroq", samples=64, batch_size=32, iters=2),
                                  image_size=16, progress=False)
            emit(error=None, n=int(x.shape[0]), methods=sorted(set(methods)), groups=len(methods), steps=calls[0])
        except BaseException as e:
            emit(error=describe(e), methods=sorted(set(methods)), steps=calls[0])
    ''', timeout=400)
    if res is None:
        return api_failed(r)
    if res["error"]:
        return f"asked zeroq 64 imgs, 2 iters: {short(res['error'], 80)}"
    return (f"asked zeroq 64 images, 2 iters: got {res['n']} images, method {res['methods']}, "
            f"{res['steps']} steps over {res['groups']} batches")


# ---------------------------------------------------------------------------------------------------
# 4. a rerun of a killed sweep
# ---------------------------------------------------------------------------------------------------
@case
def sweep_rerun_recomputes_finished_jobs(tmp: Path) -> str:
    sweep = tmp / "sweep"
    args = ["quant.w=3,4", f"hydra.sweep.dir={sweep}"]
    r1 = cli(tmp, args, timeout=300, flags=("-m",))
    files = sorted(sweep.glob("*/metrics.json"))
    if r1.rc != 0 or len(files) != 2:
        return f"first sweep did not finish both jobs: {cli_summary(r1)}; {len(files)} metrics.json"
    before = {f: (f.stat().st_mtime_ns, json.loads(f.read_text())["seconds"]["total"]) for f in files}
    time.sleep(1.1)
    r2 = cli(tmp, args, timeout=300, flags=("-m",))
    rewritten = [f for f in files if f.is_file() and f.stat().st_mtime_ns != before[f][0]]
    skipped = [l for l in r2.text.splitlines() if re.search(r"skip", l, re.I)]
    note = f"; says: {short(skipped[0], 40)}" if skipped else "; no 'skip' line"
    return (f"rerun exit {r2.rc} in {r2.seconds:.0f} s (first {r1.seconds:.0f} s): {len(rewritten)}/2 finished jobs "
            f"recomputed (metrics.json rewritten){note}")


# ---------------------------------------------------------------------------------------------------
# 5. evaluate and rtn score garbage; NaN in metrics.json
# ---------------------------------------------------------------------------------------------------
@case
def api_evaluate_nan_logits(tmp: Path) -> str:
    res, r = api(tmp, '''
        x = torch.full((32, 3, 16, 16), float("nan"))
        y = torch.zeros(32, dtype=torch.long)
        try:
            emit(error=None, top1=genie_exp.evaluate(NaNNet(), x, y))
        except BaseException as e:
            emit(error=describe(e))
    ''')
    if res is None:
        return api_failed(r)
    if res["error"]:
        return f"NaN logits, labels 0: {short(res['error'], 90)}"
    return f"NaN logits on NaN images, labels all 0: evaluate returned top-1 {res['top1']}"


@case
def api_rtn_nan_images(tmp: Path) -> str:
    res, r = api(tmp, '''
        x = torch.full((16, 3, 16, 16), float("nan"))
        try:
            q = genie_exp.quantize(make(), x, method="rtn", progress=False)
            with torch.no_grad():
                out = q(images(8))
            emit(error=None, nan=float(torch.isnan(out).float().mean()))
        except BaseException as e:
            emit(error=describe(e))
    ''')
    if res is None:
        return api_failed(r)
    if res["error"]:
        return f"rtn on NaN images: {short(res['error'], 90)}"
    return f"rtn on NaN images returned a model, no error; {100 * res['nan']:.0f}% of its logits on real input are NaN"


@case
def api_evaluate_onehot_labels(tmp: Path) -> str:
    res, r = api(tmp, '''
        x = images(32)
        y = torch.nn.functional.one_hot(torch.arange(32) % 10, 10)
        try:
            emit(error=None, top1=genie_exp.evaluate(make(), x, y))
        except BaseException as e:
            emit(error=describe(e))
    ''')
    if res is None:
        return api_failed(r)
    if res["error"]:
        return f"labels (32, 10) one-hot: {short(res['error'], 90)}"
    return f"labels (32, 10) one-hot: evaluate returned {res['top1']}, no error"


@case
def api_evaluate_column_labels(tmp: Path) -> str:
    res, r = api(tmp, '''
        x = images(32)
        y = (torch.arange(32) % 10).unsqueeze(1)
        try:
            emit(error=None, top1=genie_exp.evaluate(make(), x, y))
        except BaseException as e:
            emit(error=describe(e))
    ''')
    if res is None:
        return api_failed(r)
    if res["error"]:
        return f"labels (32, 1): {short(res['error'], 90)}"
    return f"labels (32, 1): evaluate returned top-1 {res['top1']:.4g}, no error"


def recon_iters_0_run() -> tuple[Path, Result]:
    if "iters0" not in _memo:
        tmp = Path(tempfile.mkdtemp(prefix="iters0-", dir=ROOT))
        r = cli(tmp, ["recon.iters=0", f"hydra.run.dir={tmp / 'run'}"])
        _memo["iters0"] = (tmp / "run", r)
    return _memo["iters0"]


def _strict_json(text: str) -> Optional[str]:
    def refuse(name):
        raise ValueError(name)
    try:
        json.loads(text, parse_constant=refuse)
        return None
    except ValueError as e:
        return str(e)


@case
def metrics_json_holds_nan(tmp: Path) -> str:
    run_dir, r = recon_iters_0_run()
    path = run_dir / "metrics.json"
    if not path.is_file():
        return f"recon.iters=0 wrote no metrics.json: {cli_summary(r)}"
    text = path.read_text()
    bad = _strict_json(text)
    return (f"recon.iters=0: exit {r.rc}; metrics.json holds {text.count('NaN')} NaN token(s); strict JSON parse: "
            + (f"fails ({bad})" if bad else "ok"))


@case
def cli_recon_iters_0(tmp: Path) -> str:
    run_dir, r = recon_iters_0_run()
    m = metrics_of(run_dir)
    if m is None:
        return f"no metrics.json: {cli_summary(r)}"
    units = m.get("units", [])
    nan = sum(1 for u in units if isinstance(u.get("loss"), float) and u["loss"] != u["loss"])
    return f"{cli_summary(r)}; ran to the end, {nan}/{len(units)} unit losses NaN, quant_top1 {m.get('quant_top1')}"


# ---------------------------------------------------------------------------------------------------
# 6. recorded settings that are not what ran
# ---------------------------------------------------------------------------------------------------
@case
def cli_precision_16_mixed_cpu(tmp: Path) -> str:
    r = cli(tmp, ["trainer.precision=16-mixed", f"hydra.run.dir={tmp / 'run'}"])
    m = metrics_of(tmp / "run")
    if m is None:
        return cli_summary(r)
    bf16 = [l for l in r.text.splitlines() if "bf16" in l and "trainer.precision" not in l]
    return (f"{cli_summary(r)}; metrics.json settings trainer.precision={m['settings'].get('trainer.precision')}; "
            f"Lightning says it runs bf16-mixed instead: {'yes' if bf16 else 'no'}")


@case
def cli_accelerator_tpu(tmp: Path) -> str:
    r = cli(tmp, ["trainer.accelerator=tpu", f"hydra.run.dir={tmp / 'run'}"])
    m = metrics_of(tmp / "run")
    if m is None:
        return cli_summary(r)
    return (f"{cli_summary(r)}; ran to the end, metrics say trainer.accelerator="
            f"{m['settings'].get('trainer.accelerator')} (computed on the CPU)")


@case
def cli_devices_lots(tmp: Path) -> str:
    r = cli(tmp, ["trainer.devices=lots", f"hydra.run.dir={tmp / 'run'}"])
    m = metrics_of(tmp / "run")
    if m is None:
        return cli_summary(r)
    return f"{cli_summary(r)}; ran to the end, metrics say trainer.devices={m['settings'].get('trainer.devices')}"


@case
def cli_unknown_model_kwarg(tmp: Path) -> str:
    r = cli(tmp, ["+model.kwargs.foo=1", f"hydra.run.dir={tmp / 'run'}"])
    m = metrics_of(tmp / "run")
    if m is None:
        return cli_summary(r)
    base_dir, _ = base_run()
    base = metrics_of(base_dir)
    same = base is not None and base["fingerprint"] == m["fingerprint"]
    return (f"{cli_summary(r)}; resnet20 ran, settings hold model.kwargs.foo={m['settings'].get('model.kwargs.foo')}; "
            f"fingerprint {'same as' if same else 'differs from'} the plain run")


# ---------------------------------------------------------------------------------------------------
# 7. hydra.run.dir='~/x'
# ---------------------------------------------------------------------------------------------------
def _tilde(tmp: Path, value: str) -> str:
    home, work = tmp / "home", tmp / "work"
    home.mkdir(parents=True)
    work.mkdir(parents=True)
    r = cli(tmp, [f"hydra.run.dir={value}"], cwd=work, env=env_for(tmp, HOME=str(home)))
    found = [p.parent for p in tmp.rglob("metrics.json")]
    if not found:
        return f"{cli_summary(r, 90)}; no metrics.json"
    where = ", ".join(str(p.relative_to(tmp)) for p in found)
    literal = (work / "~").exists()
    return (f"{cli_summary(r, 50)}; metrics.json in {where}; literal '~' dir in cwd: {'yes' if literal else 'no'}; "
            f"$HOME/x made: {'yes' if (home / 'x').exists() else 'no'}")


@case
def cli_run_dir_tilde(tmp: Path) -> str:
    return _tilde(tmp, "~/x")


@case
def cli_run_dir_tilde_quoted(tmp: Path) -> str:
    return _tilde(tmp, "'~/x'")  # what Hydra gets from a shell's "hydra.run.dir=\"'~/x'\""


# ---------------------------------------------------------------------------------------------------
# 8. distill / quantize leave the caller's model changed
# ---------------------------------------------------------------------------------------------------
@case
def api_failed_distill_leaves_hooks(tmp: Path) -> str:
    res, r = api(tmp, '''
        m = make()
        errors, hooks = [], []
        for _ in range(3):
            try:
                genie_exp.distill(m, samples=8, batch_size=8, iters=4, lr_generator=1e30, lr_latent=1e30,
                                  image_size=16, progress=False)
                errors.append(None)
            except BaseException as e:
                errors.append(describe(e))
            hooks.append(bn_hooks(m))
        emit(errors=errors, hooks=hooks, bns=sum(isinstance(b, torch.nn.BatchNorm2d) for b in m.modules()))
    ''')
    if res is None:
        return api_failed(r)
    failed = sum(e is not None for e in res["errors"])
    first = next((e for e in res["errors"] if e), "none")
    return (f"{failed}/3 distill() failed ({short(first, 40)}); BN pre-hooks left after each: {res['hooks']} "
            f"({res['bns']} BN layers)")


STATE_SNAPSHOT = '''
def snapshot(m):
    return {k: v.clone() for k, v in m.state_dict().items()}

def changed(m, snap):
    now = m.state_dict()
    return [k for k in snap if not torch.equal(now[k], snap[k])]
'''


@case
def api_distill_model_state_after(tmp: Path) -> str:
    res, r = api(tmp, prefix=STATE_SNAPSHOT, code='''
        m = make().train()
        m.fc.weight.requires_grad_(False)
        snap = snapshot(m)
        flags = [p.requires_grad for p in m.parameters()]
        try:
            genie_exp.distill(m, samples=8, batch_size=8, iters=2, image_size=16, progress=False)
            error = None
        except BaseException as e:
            error = describe(e)
        emit(error=error, training=m.training, device=str(next(m.parameters()).device), changed=changed(m, snap),
             flags=flags == [p.requires_grad for p in m.parameters()], hooks=bn_hooks(m))
    ''')
    if res is None:
        return api_failed(r)
    err = f"; {short(res['error'], 40)}" if res["error"] else ""
    return (f"given in train mode; after distill: training={res['training']}, {res['device']}, {len(res['changed'])} "
            f"state entries changed, requires_grad kept={res['flags']}, {res['hooks']} hooks{err}")


@case
def api_quantize_model_state_after(tmp: Path) -> str:
    res, r = api(tmp, prefix=STATE_SNAPSHOT, code='''
        m = make().train()
        snap = snapshot(m)
        flags = [p.requires_grad for p in m.parameters()]
        try:
            genie_exp.quantize(m, images(16), iters=2, batch_size=8, progress=False)
            error = None
        except BaseException as e:
            error = describe(e)
        emit(error=error, training=m.training, device=str(next(m.parameters()).device), changed=changed(m, snap),
             flags=flags == [p.requires_grad for p in m.parameters()],
             hooks=sum(len(x._forward_pre_hooks) + len(x._forward_hooks) for x in m.modules()))
    ''')
    if res is None:
        return api_failed(r)
    err = f"; {short(res['error'], 40)}" if res["error"] else ""
    return (f"given in train mode; after quantize: training={res['training']}, {res['device']}, {len(res['changed'])} "
            f"state entries changed, requires_grad kept={res['flags']}, {res['hooks']} hooks{err}")


# ---------------------------------------------------------------------------------------------------
# 9. shared cache, stale temp files, resumed logs, damaged teacher cache, reused lock pid
# ---------------------------------------------------------------------------------------------------
@case
def shared_cache_live_recon_checkpoint(tmp: Path) -> str:
    """Run A reconstructs (recon.iters=200); once its first recon checkpoint is in the cache it is
    stopped (SIGSTOP, alive but idle) while run B, the same command in another run dir on the same
    cache, runs; then A is killed."""
    env = env_for(tmp)
    args = [PY, "-m", "genie_exp", *TINY, "recon.iters=200"]
    a = start(args + [f"hydra.run.dir={tmp / 'a'}"], tmp, env)
    try:
        ckpt = wait_for("*.pt", tmp / "cache" / "recon", 180, a)
        if ckpt is None:
            kill_group(a)
            ra = finish(a, 10, time.time())
            return f"not reproduced: run A wrote no recon checkpoint ({cli_summary(ra, 50)})"
        os.killpg(a.pid, signal.SIGSTOP)
        rb = cli(tmp, ["recon.iters=200", f"hydra.run.dir={tmp / 'b'}"], env=env, timeout=300)
    finally:
        try:
            os.killpg(a.pid, signal.SIGKILL)
            os.killpg(a.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        a.communicate()
    m = metrics_of(tmp / "b")
    said = [l for l in rb.text.splitlines() if "resuming reconstruction" in l]
    if m is None:
        return f"run B: {cli_summary(rb)}"
    resumed = [u for u in m["units"] if u.get("resumed")]
    note = any("in use by another run" in l for l in rb.text.splitlines())
    return (f"run B (A stopped): exit {rb.rc}, {len(resumed)}/{len(m['units'])} units taken from A's live checkpoint "
            f"(said: {'yes' if said else 'no'}); 'in use' note: {'yes' if note else 'no'}")


@case
def stale_quantized_tmp_after_sigkill(tmp: Path) -> str:
    out = tmp / "out" / "quantized.pt"
    _, r1 = api(tmp, f'''
        q = genie_exp.quantize(make(), images(16), method="rtn", progress=False)
        def killing_save(obj, f, *a, **k):
            f.write(b"half a file")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = killing_save
        genie_exp.save_quantized(q, {str(out)!r})
    ''')
    left = sorted(out.parent.glob(".quantized.pt.*.tmp"))
    if r1.rc != -signal.SIGKILL or not left:
        return f"not reproduced: the writer ended with {r1.rc}, {len(left)} temp file(s)"
    res, r2 = api(tmp, f'''
        q = genie_exp.quantize(make(), images(16), method="rtn", progress=False)
        genie_exp.save_quantized(q, {str(out)!r})
        emit(ok=True)
    ''')
    after = sorted(out.parent.glob(".quantized.pt.*.tmp"))
    if res is None:
        return f"SIGKILL mid-save left {len(left)} temp file(s); the next save failed: {api_failed(r2)}"
    return (f"SIGKILL mid-save left {len(left)} .quantized.pt.*.tmp; the next save_quantized to the same path "
            f"succeeded and {len(after)} remain")


@case
def resumed_run_dir_logs(tmp: Path) -> str:
    """A run killed during its evaluation (every unit in the recon checkpoint), then the same command again."""
    run_dir = tmp / "run"
    args = ["recon.iters=20", "data.eval_samples=3000", f"hydra.run.dir={run_dir}"]
    a = start([PY, "-m", "genie_exp", *TINY, *args], tmp, env_for(tmp))
    t0 = time.time()
    # the FP32 top-1 is cached just before the quantized model is evaluated: kill it then
    seen = wait_for("*.json", tmp / "cache" / "eval", 180, a)
    kill_group(a)
    ra = finish(a, 10, t0)
    if seen is None or (run_dir / "metrics.json").exists():
        return f"not reproduced: the first run was not caught during its evaluation ({cli_summary(ra, 50)})"
    killed_logs = sorted(str(p.relative_to(run_dir)) for p in (run_dir / "logs").rglob("*") if p.is_file()) \
        if (run_dir / "logs").is_dir() else []
    r = cli(tmp, args)
    logs = run_dir / "logs" / "metrics.csv"
    old = run_dir / "logs.1" / "metrics.csv"
    resumed = "resuming reconstruction" in r.text
    return (f"killed in eval (had {', '.join(killed_logs) or 'no logs'}); rerun exit {r.rc}, resumed={resumed}: "
            f"logs/metrics.csv {'present' if logs.is_file() else 'MISSING'}, logs.1/metrics.csv "
            f"{'present' if old.is_file() else 'missing'}")


@case
def damaged_teacher_cache(tmp: Path) -> str:
    """resnet18 has no shipped Fashion-MNIST teacher: the first run trains one (1 epoch of 2 batches) into
    GENIE_CACHE_DIR/teachers/; the file is then truncated and the same command is run twice."""
    args = [a for a in TINY if a != "model.pretrained=false"] + [
        "+model=resnet18", "train.epochs=1", "train.max_batches=2", "train.batch_size=32"]
    r1 = cli(tmp, args + [f"hydra.run.dir={tmp / 'r1'}"], tiny=False, timeout=300)
    teacher = tmp / "cache" / "teachers" / "resnet18_fashion_mnist.pt"
    if not teacher.is_file():
        return f"not reproduced: the first run cached no teacher ({cli_summary(r1, 60)})"
    data = teacher.read_bytes()
    teacher.write_bytes(data[: len(data) // 3])
    size = teacher.stat().st_size
    r2 = cli(tmp, args + [f"hydra.run.dir={tmp / 'r2'}"], tiny=False, timeout=300)
    r3 = cli(tmp, args + [f"hydra.run.dir={tmp / 'r3'}"], tiny=False, timeout=300)
    rebuilt = teacher.is_file() and teacher.stat().st_size != size
    err = (first_error(r2.err) or "no error: line").replace(str(teacher), "<teacher>")
    return (f"truncated teacher: runs 2, 3 exit {r2.rc}, {r3.rc}; {short(err, 60)}; file "
            f"{'rebuilt' if rebuilt else 'never rebuilt'}")


@case
def stale_lock_pid_reused(tmp: Path) -> str:
    """A killed run's lock whose pid now belongs to a live `sleep`: as genie-exp writes it (pid and the
    killed process's start time), and as an older genie-exp wrote it (pid only), an hour before the sleep."""
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    outcomes = []
    try:
        for kind, text in (("pid+start", f"{sleeper.pid} 1"), ("pid only, 1 h old", str(sleeper.pid))):
            run_dir = tmp / kind.split(",")[0].replace("+", "_")
            run_dir.mkdir(parents=True)
            lock = run_dir / ".genie-run.lock"
            lock.write_text(text)
            if "old" in kind:
                past = time.time() - 3600
                os.utime(lock, (past, past))
            r = cli(tmp, [f"hydra.run.dir={run_dir}"])
            outcomes.append(f"{kind}: {cli_summary(r, 40)}")
    finally:
        sleeper.kill()
        sleeper.wait()
    return "live `sleep` holds the killed run's pid; " + "; ".join(outcomes)


# ---------------------------------------------------------------------------------------------------
# 10. tracebacks and raw errors
# ---------------------------------------------------------------------------------------------------
@case
def cli_seed_negative(tmp: Path) -> str:
    return cli_summary(cli(tmp, ["seed=-5", f"hydra.run.dir={tmp / 'run'}"]), 90)


@case
def cli_seed_huge(tmp: Path) -> str:
    return cli_summary(cli(tmp, ["seed=100000000000000000000", f"hydra.run.dir={tmp / 'run'}"]), 90)


@case
def cli_accelerator_gpu_without_gpu(tmp: Path) -> str:
    return cli_summary(cli(tmp, ["trainer.accelerator=gpu", f"hydra.run.dir={tmp / 'run'}"]), 90)


def _signal_early(tmp: Path, signum: int) -> str:
    p = start([PY, "-m", "genie_exp", *TINY, f"hydra.run.dir={tmp / 'run'}"], tmp, env_for(tmp))
    t0 = time.time()
    time.sleep(1.0)
    os.kill(p.pid, signum)
    r = finish(p, 60, t0)
    lines = r.err.splitlines()
    err = first_error(r.err)
    return (f"signal at 1 s: {exit_text(r.rc)}; {len(lines)} stderr lines; traceback: "
            f"{'yes' if 'Traceback' in r.err else 'no'}; {short(err, 40) if err else 'no error: line'}")


@case
def cli_sigint_during_imports(tmp: Path) -> str:
    return _signal_early(tmp, signal.SIGINT)


@case
def cli_sigterm_during_imports(tmp: Path) -> str:
    return _signal_early(tmp, signal.SIGTERM)


def _api_call(tmp: Path, label: str, call: str, timeout: float = 180) -> str:
    res, r = api(tmp, f'''
        try:
            out = {call}
            emit(error=None, out=str(getattr(out, "shape", type(out).__name__)))
        except BaseException as e:
            emit(error=describe(e))
    ''', timeout=timeout)
    if res is None:
        return f"{label}: {api_failed(r)}"
    if res["error"]:
        return f"{label}: {short(res['error'], MAX_OUTCOME - len(label) - 2)}"
    return f"{label}: returned {short(res['out'], 60)}, no error"


@case
def api_distill_image_size_0(tmp: Path) -> str:
    return _api_call(tmp, "distill(image_size=0)",
                     "genie_exp.distill(make(), samples=8, batch_size=8, iters=2, image_size=0, progress=False)")


@case
def api_distill_image_size_negative(tmp: Path) -> str:
    return _api_call(tmp, "distill(image_size=-3)",
                     "genie_exp.distill(make(), samples=8, batch_size=8, iters=2, image_size=-3, progress=False)")


@case
def api_quantize_1_channel_calib(tmp: Path) -> str:
    return _api_call(tmp, "1-channel calib", "genie_exp.quantize(make(), torch.randn(16, 1, 16, 16), iters=2, "
                                             "batch_size=8, progress=False)")


@case
def api_quantize_int64_calib(tmp: Path) -> str:
    return _api_call(tmp, "int64 calib", "genie_exp.quantize(make(), torch.randint(0, 255, (16, 3, 16, 16)), "
                                         "iters=2, batch_size=8, progress=False)")


@case
def api_quantize_device_cuda7(tmp: Path) -> str:
    return _api_call(tmp, "quantize(device='cuda:7')", "genie_exp.quantize(make(), images(16), iters=2, batch_size=8, "
                                                       "device='cuda:7', progress=False)")


@case
def api_distill_device_cuda7(tmp: Path) -> str:
    return _api_call(tmp, "distill(device='cuda:7')", "genie_exp.distill(make(), samples=8, batch_size=8, iters=2, "
                                                      "image_size=16, device='cuda:7', progress=False)")


@case
def api_quantize_meta_model(tmp: Path) -> str:
    return _api_call(tmp, "quantize(meta model)", "genie_exp.quantize(make().to('meta'), images(16), iters=2, "
                                                  "batch_size=8, progress=False)")


@case
def api_distill_meta_model(tmp: Path) -> str:
    return _api_call(tmp, "distill(meta model)", "genie_exp.distill(make().to('meta'), samples=8, batch_size=8, "
                                                 "iters=2, image_size=16, progress=False)")


@case
def api_quantize_blocks_string(tmp: Path) -> str:
    res, r = api(tmp, '''
        import genie_exp.partition.plan as plan_mod
        seen = []
        _orig = plan_mod.plan_units
        def spy(model, example, user_blocks=(), *a, **k):
            seen.append(list(user_blocks))
            return _orig(model, example, user_blocks, *a, **k)
        plan_mod.plan_units = spy
        import genie_exp.recon.stage as st
        st.plan_units = spy
        try:
            q = genie_exp.quantize(make(), images(16), blocks="BasicBlock", iters=2, batch_size=8, progress=False)
            emit(error=None, plan=q.genie_report.plan, seen=seen[:1])
        except BaseException as e:
            emit(error=describe(e), seen=seen[:1])
    ''')
    if res is None:
        return api_failed(r)
    got = res["seen"][0] if res["seen"] else None
    warn = [l for l in r.out.splitlines() if l.startswith("warning")]
    tail = short(res["error"], 50) if res["error"] else f"plan '{short(res['plan'], 35)}'"
    as_text = f"{len(got)} names {got[:3]}…" if isinstance(got, list) and len(got) > 3 else str(got)
    return f"blocks='BasicBlock' reached the planner as {as_text}; {tail}" + (
        f"; {len(warn)} warning line(s)" if warn else "")


@case
def api_evaluate_numpy(tmp: Path) -> str:
    return _api_call(tmp, "evaluate(model, ndarray, ndarray)",
                     "genie_exp.evaluate(make(), images(8).numpy(), __import__('numpy').zeros(8, dtype='int64'))")


def _w_bits_99(tmp: Path) -> Path:
    torch = torch_mod()
    blob = torch.load(base_artifact(), map_location="cpu", weights_only=True)
    blob["convert"]["w_bits"] = 99
    out = tmp / "edited" / "quantized.pt"
    out.parent.mkdir(parents=True)
    torch.save(blob, out)
    return out


@case
def export_w_bits_99_onnx(tmp: Path) -> str:
    path = _w_bits_99(tmp)
    r = run([PY, "-m", "genie_exp.export", str(path.parent), "--format", "onnx"], tmp, env_for(tmp), 240)
    made = path.with_suffix(".onnx").is_file()
    return f"convert.w_bits=99: {cli_summary(r, 60)}; .onnx written: {'yes' if made else 'no'}"


@case
def export_w_bits_99_encodings(tmp: Path) -> str:
    path = _w_bits_99(tmp)
    r = run([PY, "-m", "genie_exp.export", str(path.parent), "--format", "encodings"], tmp, env_for(tmp), 240)
    made = sorted(p.name for p in path.parent.glob("encodings*"))
    return f"convert.w_bits=99: {cli_summary(r, 60)}; written: {', '.join(made) or 'nothing'}"


@case
def cli_recon_iters_huge(tmp: Path) -> str:
    """recon.iters=10**12: is it refused or estimated up front? (20 s, memory capped at 6 GiB)"""
    r = cli(tmp, ["recon.iters=1000000000000", f"hydra.run.dir={tmp / 'run'}"], timeout=20, mem_gib=6)
    started = "reconstruction plan" in r.text
    estimate = [l for l in r.text.splitlines() if re.search(r"estimat|would take|expected to take|\bETA\b", l, re.I)]
    return (f"{cli_summary(r, 45)}; reconstruction started: {'yes' if started else 'no'}; estimate line: "
            + (short(estimate[0], 40) if estimate else "none"))


# ---------------------------------------------------------------------------------------------------
def main() -> int:
    global ROOT
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", metavar="NAME", help="run these cases only")
    p.add_argument("--out", help="write {case: outcome} as JSON here")
    p.add_argument("--list", action="store_true", help="list the case names and exit")
    p.add_argument("--keep", action="store_true", help="keep the temp directories")
    args = p.parse_args()
    if args.list:
        print("\n".join(CASES))
        return 0
    names = args.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"error: unknown case(s) {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    ROOT = Path(tempfile.mkdtemp(prefix="genie-reliability-"))
    import genie_exp  # noqa: F401  only to say which one is under test

    print(f"genie_exp under test: {Path(genie_exp.__file__).parent} ({sys.executable})", file=sys.stderr)
    outcomes: dict[str, str] = {}
    t_all = time.time()
    try:
        for name in names:
            tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=ROOT))
            t0 = time.time()
            try:
                outcome = CASES[name](tmp)
            except Exception as e:  # a case that breaks must not stop the others
                outcome = f"case could not run: {type(e).__name__}: {short(str(e), 80)}"
            outcome = " ".join(outcome.replace(str(tmp), "<tmp>").replace(str(ROOT), "<root>").split())
            if len(outcome) > MAX_OUTCOME:
                outcome = outcome[: MAX_OUTCOME - 1] + "…"
            outcomes[name] = outcome
            print(f"[{time.time() - t0:5.1f} s] {name}: {outcome}", file=sys.stderr, flush=True)
            if args.out:  # after every case: a killed run keeps what it measured
                Path(args.out).write_text(json.dumps(outcomes, indent=2) + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(ROOT, ignore_errors=True)
    print("| case | outcome |")
    print("|---|---|")
    for name, outcome in outcomes.items():
        print(f"| {name} | {outcome.replace('|', '/')} |")
    print(f"\n{len(outcomes)} cases in {time.time() - t_all:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
