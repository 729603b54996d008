"""The quantized model leaves the run: saved with everything that decides its output, reloaded
bit-exact (genie, adaround, rtn), its state_dict round-trips, and it exports to ONNX (QCDQ) and to
encodings (JSON + safetensors) that compute what the model computes."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn

import genie_exp
from genie_exp.artifact import read_artifact
from genie_exp.quant import QuantLayer, convert

from conftest import run_cli, with_bn_statistics


class Tiny(nn.Module):
    """A user's model: a residual block and a concat, nothing genie-exp knows by name."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.a = nn.Conv2d(width, width, 3, padding=1)
        self.b = nn.Conv2d(width, width, 1)
        self.head = nn.Linear(2 * width, 5)

    def forward(self, x):
        x = self.stem(x)
        y = torch.cat([x, torch.relu(self.b(torch.relu(self.a(x))) + x)], 1)
        return self.head(y.mean((2, 3)))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return with_bn_statistics(Tiny(), (16, 3, 12, 12))


X = torch.randn(16, 3, 12, 12, generator=torch.Generator().manual_seed(1))


def _quantized(model, method: str):
    return genie_exp.quantize(model, X, w_bits=3, a_bits=4, method=method, iters=6, batch_size=8, progress=False,
                              device="cpu")


@pytest.mark.parametrize("method", ["genie", "adaround", "rtn"])
def test_load_quantized_is_bit_exact(model, method, tmp_path):
    q = _quantized(model, method)
    path = genie_exp.save_quantized(q, tmp_path / "q.pt")
    torch.load(path, weights_only=True)  # plain tensors and containers only
    back = genie_exp.load_quantized(path)  # the class is imported again from the stored reference
    with torch.no_grad():
        assert torch.equal(back(X), q(X))
    blob = read_artifact(path)
    assert blob["convert"]["w_bits"] == 3 and blob["model"]["target"].endswith("test_artifact.Tiny")
    codes = blob["layers"]["a"]
    assert codes["codes"].dtype == torch.uint8 and int(codes["codes"].max()) <= 7 and codes["bits"] == 3
    w = (codes["codes"].float() - codes["zero_point"].float().view(-1, 1, 1, 1)) * codes["scale"].view(-1, 1, 1, 1)
    assert torch.equal(w, q.a.quantized_weight())


def test_state_dict_round_trips_modes_and_flags(model):
    q = _quantized(model, "genie")
    assert q.a.weight_quantizer.mode == "hard"
    fresh = convert(model, 3, 4, X[:2], blocks=q.genie_recipe["convert"]["blocks"])
    assert fresh.a.weight_quantizer.mode == "nearest" and not fresh.a.act_quantizer.is_initialized
    fresh.load_state_dict(q.state_dict())
    assert fresh.a.weight_quantizer.mode == "hard" and fresh.a.act_quantizer.is_initialized
    with torch.no_grad():
        assert torch.equal(fresh.eval()(X), q(X))


def test_a_file_that_is_not_an_artifact_is_one_line(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "x.pt")
    with pytest.raises(genie_exp.UserError, match="not a genie-exp quantized model"):
        genie_exp.load_quantized(tmp_path / "x.pt")


def test_encodings_rebuild_the_weights(model, tmp_path):
    from safetensors.torch import load_file

    from genie_exp.export import export_encodings

    q = _quantized(model, "genie")
    blob = read_artifact(genie_exp.save_quantized(q, tmp_path / "q.pt"))
    js, st = export_encodings(blob, tmp_path / "enc")
    doc, tensors = json.loads(js.read_text()), load_file(str(st))
    for name, layer in doc["layers"].items():
        codes, scale, zp = (tensors[layer[k]] for k in ("codes", "scale", "zero_point"))
        shape = (-1,) + (1,) * (codes.dim() - 1)
        w = (codes.float() - zp.float().view(shape)) * scale.view(shape)
        assert torch.equal(w, q.get_submodule(name).quantized_weight()), name
    acts = doc["activations"]
    assert acts and all(a["max"] - a["min"] + 1 == 2 ** a["bits"] for a in acts.values())


def test_onnx_export_computes_what_the_model_computes(model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from genie_exp.export import export_onnx

    q = _quantized(model, "genie")
    path = export_onnx(q, [3, 12, 12], tmp_path / "q.onnx")
    import onnx

    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert "QuantizeLinear" in ops and "Clip" in ops and ops.count("DequantizeLinear") >= 4 + 3
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (X, X[:3]):  # any batch size
        got = torch.from_numpy(session.run(None, {"images": batch.numpy()})[0])
        with torch.no_grad():
            ref = q(batch)
        assert torch.allclose(got, ref, atol=1e-3) and torch.equal(got.argmax(1), ref.argmax(1))


def test_every_run_leaves_its_model_and_the_export_command_checks_it(tmp_path, fmnist_root):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    run = tmp_path / "run"
    r = run_cli(f"data.root={fmnist_root}", "distill=noise", "distill.samples=32", "recon.iters=8",
                "recon.batch_size=8", "quant.calib_samples=32", "data.eval_samples=64", "progress=false",
                "model.pretrained=false", "quant.w=2", f"hydra.run.dir={run}", env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["quantized"] == "quantized.pt" and (run / "quantized.pt").is_file()
    e = run_cli(str(run), "--format", "onnx", "--verify", module="genie_exp.export", env={"OMP_NUM_THREADS": "1"})
    assert e.returncode == 0, e.stderr[-2000:]
    check = json.loads(e.stdout.strip().splitlines()[-1])
    assert check["images"] == 64 and check["top1_pytorch"] == pytest.approx(metrics["quant_top1"])
    assert abs(check["top1_onnxruntime"] - check["top1_pytorch"]) <= 1 / 64
    bad = run_cli(str(tmp_path / "nothing"), "--format", "encodings", module="genie_exp.export")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
