"""Every bad input ends in ONE line `error: ...` and a non-zero exit, and leaves earlier results alone.

The CLI runs as a subprocess per case; the cases start together (two at a time) in one fixture, so
the table costs about half its serial time."""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from conftest import run_cli

TINY = ["model.pretrained=false", "distill.samples=16", "distill.batch_size=8", "distill.iters=20",
        "recon.iters=20", "recon.batch_size=8", "quant.calib_samples=16", "data.eval_samples=32", "progress=false"]
BN_FREE = ("import torch.nn as nn\n"
           "class NoBN(nn.Module):\n"
           "    def __init__(self):\n"
           "        super().__init__()\n"
           "        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),\n"
           "                                  nn.Flatten())\n"
           "        self.head = nn.Linear(4, 10)\n"
           "    def forward(self, x):\n"
           "        return self.head(self.body(x))\n")
CUSTOM = ["+model=custom", "model.target=nobn.NoBN", "model.weights=nobn.pt"]
RAISING = ("class Bad:\n    pass\n"
           "import torch.nn as nn\n"
           "class InitRaises(nn.Module):\n"
           "    def __init__(self):\n"
           "        super().__init__()\n"
           "        raise RuntimeError('no GPU in __init__')\n"
           "class InitValueError(nn.Module):\n"
           "    def __init__(self):\n"
           "        raise ValueError('bad width')\n")


class Evil:
    """Unpickling this runs a shell command: what a hostile checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# id -> (arguments, words the error line must hold); {tmp} and {fm} are filled in per case.
CASES = {
    "distill_nan": (["distill.lr_generator=1e30"], ["distill", "nan", "batch 0", "step"]),
    "recon_nan": (["distill=noise", "recon.lr_weight_step=1e30"], ["recon", "non-finite", "unit 'conv1'", "step"]),
    "bn_free_teacher_genie": ([*CUSTOM, "distill=genie"], ["BatchNorm", "distill=noise"]),
    "calib_smaller_than_recon_batch": (["distill=noise", "distill.samples=4", "recon.batch_size=8"],
                                       ["recon.batch_size=8", "larger", "distill.samples=4"]),
    "calib_smaller_than_distill_batch": (["distill.samples=4", "distill.batch_size=8"], ["smaller", "distill.batch_size=8"]),
    "samples_not_divisible": (["distill.samples=12", "distill.batch_size=8"], ["distill.samples=12", "multiple"]),
    "w_bits_9": (["quant.w=9"], ["quant.w", "2 to 8"]),  # quant.a=1 and the like: tests/test_cli.py
    "garbage_weights": (["model.weights={tmp}/garbage.pt"], ["model.weights", "garbage.pt", "not a readable"]),
    "data_root_without_files": (["data.root={tmp}/empty_data"], ["Fashion-MNIST", "not found", "empty_data"]),
    "cache_dir_under_a_file": (["paths.cache_dir={tmp}/garbage.pt/cache"], ["paths.cache_dir", "cannot write"]),
    "run_dir_under_a_file": (["hydra.run.dir={tmp}/garbage.pt/run"], ["hydra.run.dir", "is a file"]),
    "malicious_torch_save": (["model.weights={tmp}/evil_torch_save.pt"], ["model.weights", "refused"]),
    "malicious_pickle_dump": (["model.weights={tmp}/evil_pickle_dump.pt"], ["model.weights", "refused"]),
    "ddp_on_missing_gpus": (["trainer=ddp", "trainer.devices=2", "trainer.accelerator=gpu"] if not torch.cuda.is_available()
                            else ["trainer=ddp", "trainer.devices=999", "trainer.accelerator=gpu"],
                            ["trainer.accelerator=gpu", "no GPU"] if not torch.cuda.is_available() else ["trainer=ddp", "trainer.devices"]),
    "ddp_batch_not_divisible": (["trainer=ddp", "trainer.devices=3", "trainer.accelerator=cpu", "recon.batch_size=8"],
                                ["recon.batch_size=8", "multiple", "3"]),
    "unknown_precision": (["trainer.precision=fp8"], ["trainer.precision", "bf16-mixed"]),
    "unknown_lsq_grad": (["recon.lsq_grad=ste"], ["recon.lsq_grad", "rounded"]),
    "unknown_ddp_backend": (["trainer=ddp", "trainer.ddp_backend=mpi"], ["trainer.ddp_backend", "gloo"]),
    "unknown_act_init": (["recon.act_init=lazy"], ["recon.act_init", "per_unit"]),
    "unknown_augment": (["recon.augment=flips"], ["recon.augment", "did you mean 'flip'"]),
    "lowpass_negative": (["recon.lowpass=-0.5"], ["recon.lowpass", ">= 0", "-0.5"]),
    "group_stats_without_a_group": (["distill.stats=group"], ["distill.stats=group", "distill.parallel_batches"]),
    "layer_bits_out_of_range": (["+quant.layer_bits={{conv1: {{w: 9}}}}"], ["quant.layer_bits['conv1'].w", "2 to 8", "9"]),
    "layer_bits_matching_no_layer": (["+quant.layer_bits={{conv: {{w: 3}}}}"], ["'conv' matches no quantized layer", "conv1"]),
    "budget_out_of_range": (["quant.budget.weight_bits_avg=1.5"], ["quant.budget.weight_bits_avg", "2 to 8", "1.5"]),
    "blocks_as_a_string": (["model.blocks=BasicBlok"], ["model.blocks", "list of class names", "[BasicBlok]"]),
    "blocks_class_not_in_model": (["model.blocks=[BasicBlok]"], ["model.blocks", "'BasicBlok'", "BasicBlock"]),
    "recon_iters_negative": (["recon.iters=-5"], ["recon.iters", "from 1 to", "-5"]),
    "distill_iters_negative": (["distill.iters=-1"], ["distill.iters", "from 1 to", "-1"]),
    "parallel_batches_zero": (["distill.parallel_batches=0"], ["distill.parallel_batches", ">= 1"]),
    "recon_batch_zero": (["recon.batch_size=0"], ["recon.batch_size", ">= 1"]),
    "qdrop_prob_above_one": (["recon.qdrop_prob=1.5"], ["recon.qdrop_prob", "from 0 to 1"]),
    "target_is_not_a_class": (["+model=custom", "model.target=raising.Bad", "model.weights=nobn.pt"],
                              ["model.target", "raising.Bad", "not a torch.nn.Module subclass"]),
    "target_os_system": (["+model=custom", "model.target=os.system", "model.weights=nobn.pt",
                          "+model.kwargs.command='touch {tmp}/ran'"], ["model.target=os.system", "refused"]),
    "factory_os_system": (["+model=custom", "model.target=os.system", "model.factory=true", "model.weights=nobn.pt",
                           "+model.kwargs.command='touch {tmp}/ran'"], ["model.target=os.system", "refused",
                                                                        "part of Python itself"]),
    "factory_subprocess": (["+model=custom", "model.target=subprocess.getoutput", "model.factory=true",
                            "model.weights=nobn.pt", "+model.kwargs.cmd='touch {tmp}/ran'"],
                           ["model.target=subprocess.getoutput", "refused"]),
    "factory_installed_package": (["+model=custom", "model.target=omegaconf.OmegaConf.create", "model.factory=true",
                                   "model.weights=nobn.pt"], ["refused", "installed package"]),
    "target_raises_in_init": (["+model=custom", "model.target=raising.InitRaises", "model.weights=nobn.pt"],
                              ["model.target", "RuntimeError", "no GPU in __init__"]),
    "target_value_error": (["+model=custom", "model.target=raising.InitValueError", "model.weights=nobn.pt"],
                           ["model.target", "ValueError", "bad width"]),
    "target_syntax_error": (["+model=custom", "model.target=broken.Net", "model.weights=nobn.pt"],
                            ["model.target", "cannot import broken", "SyntaxError"]),
    "weights_with_nan": ([*CUSTOM[:2], "model.weights=nan.pt", "distill=noise"], ["model.weights", "nan.pt",
                                                                                  "non-finite"]),
}
GOOD = {"bn_free_teacher_noise": [*CUSTOM, "distill=noise", "quantizer=rtn"]}  # Genie-D aside, it works


def _prepare(tmp: Path) -> None:
    import pickle
    import sys

    (tmp / "garbage.pt").write_bytes(b"this is not a checkpoint\x00\xff" * 64)
    (tmp / "empty_data").mkdir()
    (tmp / "empty_data" / "README.txt").write_text("no images here\n")
    (tmp / "nobn.py").write_text(BN_FREE)
    sys.path.insert(0, str(tmp))
    try:
        from nobn import NoBN
    finally:
        sys.path.remove(str(tmp))
    torch.save(NoBN().state_dict(), tmp / "nobn.pt")
    state = NoBN().state_dict()
    state["head.weight"][0, 0] = float("nan")
    torch.save(state, tmp / "nan.pt")
    (tmp / "raising.py").write_text(RAISING)
    (tmp / "broken.py").write_text("class Net(:\n    pass\n")
    payload = {"conv1.weight": Evil(tmp / "pwned")}  # unpickling it would create {tmp}/pwned
    torch.save(payload, tmp / "evil_torch_save.pt")
    with open(tmp / "evil_pickle_dump.pt", "wb") as f:
        pickle.dump(payload, f)


def _run_case(name: str, tmp: Path, fm: Path) -> tuple:
    args = CASES[name][0] if name in CASES else GOOD[name]
    run_dir = tmp / "runs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text('{"earlier": true}\n')  # an earlier result in the same run dir
    args = [a.format(tmp=tmp, fm=fm) for a in args]
    if not any(a.startswith("hydra.run.dir=") for a in args):
        args.append(f"hydra.run.dir={run_dir}")
    if not any(a.startswith("data.root=") for a in args):
        args.append(f"data.root={fm}")
    env = {"GENIE_CACHE_DIR": str(tmp / "cache" / name), "OMP_NUM_THREADS": "1"}
    return run_cli(*TINY, *args, env=env, cwd=tmp, timeout=300), run_dir


@pytest.fixture(scope="module")
def results(tmp_path_factory, fmnist_root) -> dict:
    tmp = tmp_path_factory.mktemp("bad")
    _prepare(tmp)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {n: pool.submit(_run_case, n, tmp, fmnist_root) for n in [*CASES, *GOOD]}
        return {"tmp": tmp, **{n: f.result() for n, f in futures.items()}}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_error_line(name, results):
    r, run_dir = results[name]
    assert r.returncode != 0, r.stdout[-1000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-3000:]
    for needle in CASES[name][1]:
        assert needle in lines[0], lines[0]
    assert json.loads((run_dir / "metrics.json").read_text()) == {"earlier": True}  # nothing clobbered


def test_malicious_pickle_never_runs(results):
    assert not (results["tmp"] / "pwned").exists()  # both refused above, and nothing was executed
    assert not (results["tmp"] / "ran").exists()  # model.target=os.system was never called
    assert "refused" in results["malicious_pickle_dump"][0].stderr


def test_bn_free_teacher_works_without_genie_d(results):
    r, run_dir = results["bn_free_teacher_noise"]
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((run_dir / "metrics.json").read_text())["model"] == "NoBN"
