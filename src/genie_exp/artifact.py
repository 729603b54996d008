"""The quantized model as a file (`quantized.pt`): everything needed to rebuild it, read back with
torch.load(weights_only=True), so a file cannot run code.

What it holds: how to build the FP architecture (a registry name, or a user class `model.target` with
its keyword arguments), how it was converted (bit rules, BN folding, the blocks whose input is
quantized once), the student's whole state dict (FP weights, BN, every quantizer's step, zero point,
rounding variables, mode and flags: all of it in state_dict, see quant/), each layer's integer weight
codes with their per-channel steps and zero points, each activation quantizer's step and range, the
reconstruction plan, and the config or API settings that made it. Loading rebuilds the architecture,
converts it the same way and loads the state: the logits are bit-identical on the CPU."""
from __future__ import annotations

import copy
import platform
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn as nn

from .core.errors import UserError
from .core.io import load_torch, save_torch
from .choices import ACT_GRIDS
from .config import check_layer_bits

FORMAT = "genie-exp/quantized"
VERSION = 1


def recipe(model_ref: dict, input_shape: Any, quant: Any, blocks: list[str], plan: Optional[dict] = None) -> dict:
    """How a student was made from its FP model (stored with the student, see `save_quantized`);
    `input_shape`: one image's (C, H, W)."""
    return {"model": _plain(dict(model_ref)), "input_shape": [int(v) for v in input_shape],
            "convert": {"w_bits": int(quant.w), "a_bits": int(quant.a), "first_layer_bits": int(quant.first_layer_bits),
                        "quantize_image": bool(quant.quantize_image),
                        "second_input_bits": None if quant.second_input_bits is None else int(quant.second_input_bits),
                        "last_layer_bits": None if quant.last_layer_bits is None else int(quant.last_layer_bits),
                        "lp": float(quant.lp), "fold_bn": bool(quant.fold_bn), "blocks": list(blocks),
                        "act_grid": str(quant.act_grid),
                        "gate_bits": None if quant.gate_bits is None else int(quant.gate_bits),
                        "gate_layers": list((plan or {}).get("gate_layers", [])) if quant.gate_bits else [],
                        "layer_bits": {str(k): dict(v) for k, v in dict(quant.layer_bits or {}).items()}},
            "plan": _plain(plan or {})}


def layer_codes(student: nn.Module) -> dict[str, dict]:
    """Per QuantLayer: bits, integer weight codes (uint8, zero point included), per-channel step and
    zero point, and the rounding mode they come from."""
    from .quant.layer import QuantLayer

    out = {}
    with torch.no_grad():
        for name, m in student.named_modules():
            if isinstance(m, QuantLayer):
                q = m.weight_quantizer
                codes = q.integer_codes(m.module.weight).round().to(torch.uint8).cpu()
                out[name] = {"bits": int(q.bits), "mode": q.mode, "codes": codes,
                             "scale": q.scale.detach().flatten().float().cpu().clone(),
                             "zero_point": q.zero_point.detach().flatten().round().to(torch.uint8).cpu()}
    return out


def act_table(student: nn.Module) -> dict[str, dict]:
    """Per activation quantizer (by its first path): bits, signed, step, integer range, and the
    layers / blocks that read through it (a shared quantizer is listed once)."""
    from .quant.act import ActQuantizer

    first: dict[int, str] = {}
    readers: dict[int, list[str]] = {}
    for name, m in student.named_modules(remove_duplicate=False):
        if isinstance(m, ActQuantizer):
            first.setdefault(id(m), name)
            owner = name.rpartition(".")[0]
            readers.setdefault(id(m), [])
            if owner not in readers[id(m)]:
                readers[id(m)].append(owner)
    out = {}
    for name, m in student.named_modules():
        if isinstance(m, ActQuantizer) and m.is_initialized:
            lo, hi = m.levels()
            out[first[id(m)]] = {"bits": int(m.bits), "signed": bool(m.is_signed), "scale": float(m.scale.detach()),
                                 "min": lo, "max": hi, "read_by": readers[id(m)]}
    return out


def save_quantized(student: nn.Module, path: str | Path, recipe_: Optional[dict] = None, config: Optional[dict] = None,
                   metrics: Optional[dict] = None) -> Path:
    """Write `student` (a fake-quantized model from genie_exp) to `path`. `recipe_` defaults to the one
    `quantize` attached to the student (`student.genie_recipe`)."""
    path = Path(path)
    save_torch(artifact_blob(student, recipe_, config, metrics, "save_quantized"), path)
    return path


def artifact_blob(student: nn.Module, recipe_: Optional[dict] = None, config: Optional[dict] = None,
                  metrics: Optional[dict] = None, what: str = "save_quantized") -> dict:
    """What save_quantized writes (and read_artifact returns), for a student in memory."""
    recipe_ = recipe_ or getattr(student, "genie_recipe", None)
    if recipe_ is None:
        raise UserError(f"{what}: this model carries no recipe (make it with genie_exp.quantize or load it with "
                        f"genie_exp.load_quantized)")
    import genie_exp

    state = {k: v.detach().cpu().clone() for k, v in student.state_dict().items()}
    blob = {"format": FORMAT, "version": VERSION, **copy.deepcopy(recipe_), "state": state,
            "layers": layer_codes(student), "activations": act_table(student), "config": config or {},
            "metrics": _plain(metrics or {}),
            "made_with": {"genie_exp": str(genie_exp.__version__), "torch": str(torch.__version__),
                          "python": platform.python_version()}}
    return blob


def _plain(obj: Any) -> Any:
    """Only what weights_only loading accepts: dicts, lists, str, numbers, bools, None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj if isinstance(obj, (str, int, float, bool)) or obj is None else str(obj)


def read_artifact(path: str | Path) -> dict:
    """The artifact dict, checked for its format (a directory means its quantized.pt)."""
    path = Path(path)
    if path.is_dir():
        path = path / "quantized.pt"
    blob = load_torch(path, "quantized model")
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise UserError(f"{path} is not a genie-exp quantized model (no '{FORMAT}' format tag)")
    if int(blob.get("version", 0)) > VERSION:
        raise UserError(f"{path} has format version {blob['version']}; this genie-exp reads up to {VERSION}")
    problem = _recipe_problem(blob)
    if problem:
        raise UserError(f"quantized model {path}: {problem} (a damaged or edited file)")
    return blob


def _bits_ok(v: Any, optional: bool = False) -> bool:
    return (optional and v is None) or (isinstance(v, int) and not isinstance(v, bool) and 2 <= v <= 8)


def _recipe_problem(blob: dict) -> Optional[str]:
    """What in the stored recipe cannot have come from genie-exp (None: nothing)."""
    c, shape = blob.get("convert"), blob.get("input_shape")
    if not isinstance(c, dict) or not isinstance(blob.get("model"), dict) or not isinstance(blob.get("state"), dict):
        return "its model, convert or state entry is missing"
    for key in ("w_bits", "a_bits", "first_layer_bits"):
        if not _bits_ok(c.get(key)):
            return f"convert.{key}={c.get(key)!r} is not an integer from 2 to 8"
    for key in ("second_input_bits", "last_layer_bits"):
        if not _bits_ok(c.get(key), optional=True):
            return f"convert.{key}={c.get(key)!r} is not an integer from 2 to 8 or null"
    if not isinstance(c.get("lp"), (int, float)) or isinstance(c.get("lp"), bool) or not c["lp"] > 0:
        return f"convert.lp={c.get('lp')!r} is not a number above 0"
    if not isinstance(c.get("blocks"), list) or not all(isinstance(b, str) for b in c["blocks"]):
        return "convert.blocks is not a list of class names"
    if not _bits_ok(c.get("gate_bits"), optional=True):
        return f"convert.gate_bits={c.get('gate_bits')!r} is not an integer from 2 to 8 or null"
    if not isinstance(c.get("gate_layers", []), list) or not all(isinstance(b, str) for b in c.get("gate_layers", [])):
        return "convert.gate_layers is not a list of layer names"
    try:
        check_layer_bits(c.get("layer_bits", {}), "convert.layer_bits")
    except UserError as e:
        return str(e)
    if c.get("act_grid", "symmetric") not in ACT_GRIDS:
        return f"convert.act_grid={c.get('act_grid')!r} is not one of {', '.join(ACT_GRIDS)}"
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) and 0 < v <= 4096 for v in shape)):
        return f"input_shape={shape!r} is not (channels, height, width)"
    for name, entry in (blob.get("layers") or {}).items():
        if not isinstance(entry, dict) or not _bits_ok(entry.get("bits")):
            return f"layers.{name}.bits is not an integer from 2 to 8"
    for name, entry in (blob.get("activations") or {}).items():
        if not isinstance(entry, dict) or not _bits_ok(entry.get("bits")):
            return f"activations.{name}.bits is not an integer from 2 to 8"
    return None


def load_quantized(path: str | Path, model: Optional[nn.Module] = None, device: Any = "cpu") -> nn.Module:
    """The quantized model stored at `path` (a quantized.pt, or a run dir holding one), in eval mode on
    `device`. `model`: an instance of the FP architecture to rebuild on (needed only when the stored
    class cannot be built without arguments); its weights do not matter and it is not changed."""
    from .quant import convert
    from .quant.fold import fold_batchnorm

    blob = read_artifact(path)
    if model is not None:
        fp = copy.deepcopy(model)
    else:
        from .models.reference import build_from_reference

        fp = build_from_reference(blob["model"], f"quantized model {path}: model.target")
    fp = fp.cpu().eval()
    c = blob["convert"]
    example = torch.zeros(2, *blob["input_shape"])
    if c["fold_bn"]:
        fp = fold_batchnorm(fp, example)
    student = convert(fp, c["w_bits"], c["a_bits"], example, first_layer_bits=c["first_layer_bits"],
                      quantize_image=c["quantize_image"], second_input_bits=c["second_input_bits"],
                      last_layer_bits=c["last_layer_bits"], blocks=c["blocks"], p=c["lp"], inplace=True,
                      act_grid=c.get("act_grid", "symmetric"), gate_layers=c.get("gate_layers", []),
                      gate_bits=c.get("gate_bits"), layer_bits=c.get("layer_bits", {}))
    try:
        student.load_state_dict(blob["state"])
    except RuntimeError as e:
        raise UserError(f"quantized model {path}: its state does not fit the rebuilt model "
                        f"({str(e).splitlines()[0][:200]})") from None
    student.genie_recipe = {k: blob[k] for k in ("model", "input_shape", "convert", "plan")}
    return student.to(device).eval()
