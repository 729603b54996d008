"""The quantization encodings of a quantized model, our own format (the AIMET-encodings idea): a JSON
file that describes every quantized layer and activation, and a safetensors file with the tensors.

JSON (`<name>.json`): {"format": "genie-exp/encodings", "version": 1, "model", "input_shape",
  "layers": {layer: {"bits", "shape", "codes", "scale", "zero_point", "bias"}},      (tensor names)
  "activations": {quantizer: {"bits", "signed", "scale", "zero_point": 0, "min", "max", "read_by"}}}
safetensors (`<name>.safetensors`): per layer `<layer>.codes` (uint8: the weights as integers, zero
point included, in [0, 2^bits - 1]), `<layer>.scale` (float32, per output channel), `<layer>.zero_point`
(uint8, per output channel) and `<layer>.bias` (float32, where the layer has one).
A weight is (codes - zero_point) * scale, broadcast over the output-channel axis 0; an activation is
clamp(round(x / scale), min, max) * scale."""
from __future__ import annotations

from pathlib import Path

from ..core.io import atomic_write, save_json

FORMAT = "genie-exp/encodings"


def export_encodings(blob: dict, out: Path) -> tuple[Path, Path]:
    """`blob`: a read artifact (artifact.read_artifact). Writes out.json and out.safetensors."""
    from safetensors.torch import save

    out = out.with_suffix("")
    tensors, layers = {}, {}
    state = blob["state"]
    for name, entry in blob["layers"].items():
        keys = {k: f"{name}.{k}" for k in ("codes", "scale", "zero_point")}
        tensors[keys["codes"]] = entry["codes"].contiguous()
        tensors[keys["scale"]] = entry["scale"].contiguous()
        tensors[keys["zero_point"]] = entry["zero_point"].contiguous()
        bias = state.get(f"{name}.module.bias")
        if bias is not None:
            keys["bias"] = f"{name}.bias"
            tensors[keys["bias"]] = bias.float().contiguous()
        layers[name] = {"bits": entry["bits"], "shape": list(entry["codes"].shape), **keys}
    acts = {name: {**a, "zero_point": 0} for name, a in blob["activations"].items()}
    doc = {"format": FORMAT, "version": 1, "model": blob["model"], "input_shape": blob["input_shape"],
           "layers": layers, "activations": acts}
    json_path, st_path = out.with_name(out.name + ".json"), out.with_name(out.name + ".safetensors")
    atomic_write(st_path, lambda f: f.write(save(tensors, metadata={"format": FORMAT})))
    save_json(doc, json_path)
    return json_path, st_path
