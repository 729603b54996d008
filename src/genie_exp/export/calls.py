"""The exports as Python calls, for a quantized model in memory or a saved one (a quantized.pt or the
run dir holding it): the same files and the same check as `python -m genie_exp.export`.

    genie_exp.export_quantized(qmodel, "out/model.onnx")                 # or format="encodings"
    genie_exp.verify(qmodel, test_images, test_labels)                   # onnxruntime against PyTorch"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Optional

import torch.nn as nn

from ..core.errors import UserError

FORMATS = ("onnx", "encodings")


def _model_and_blob(source: Any, what: str) -> tuple[nn.Module, dict]:
    from ..artifact import artifact_blob, load_quantized, read_artifact

    if isinstance(source, nn.Module):
        return source, artifact_blob(source, what=what)
    if isinstance(source, (str, Path)):
        return load_quantized(source), read_artifact(source)
    raise UserError(f"{what}: give a quantized model or the path of its quantized.pt, got {type(source).__name__}")


def export_quantized(source: Any, path: str | Path, format: str = "onnx") -> list[Path]:
    """Write `source` as ONNX (QCDQ, export/onnx_export.py) to `path`, or as encodings
    (path.json + path.safetensors, export/encodings.py); the files written."""
    if format not in FORMATS:
        raise UserError(f"export_quantized: unknown format '{format}' (choose from: {', '.join(FORMATS)})")
    model, blob = _model_and_blob(source, "export_quantized")
    path = Path(path)
    if format == "encodings":
        from .encodings import export_encodings

        return list(export_encodings(blob, path))
    from .onnx_export import export_onnx

    return [export_onnx(model, blob["input_shape"], path)]


def verify(source: Any, images: Any, labels: Any, onnx_path: Optional[str | Path] = None,
           batch_size: int = 256) -> dict:
    """onnxruntime against PyTorch on (images, labels): top-1 of both, the share of equal predictions
    and the largest logit difference, for the default session and an unoptimized one (export/verify.py).
    `onnx_path`: the file to check (default: `source` exported to a temporary file)."""
    from ..config import check_number
    from ..core.inputs import check_images, check_labels, restored
    from .verify import verify_onnx

    model, blob = _model_and_blob(source, "verify")
    images = check_images(images, "verify: images")
    labels = check_labels(labels, len(images), "verify: labels")
    check_number(batch_size, "verify: batch_size", 1, None, True)
    batches = list(zip(images.cpu().split(batch_size), labels.cpu().split(batch_size)))
    from .onnx_export import export_onnx

    with restored(model), tempfile.TemporaryDirectory(prefix="genie-verify-") as tmp:  # the caller's model stays put
        if onnx_path is None:
            onnx_path = export_onnx(model, blob["input_shape"], Path(tmp) / "model.onnx")
        return verify_onnx(Path(onnx_path), model, batches)
