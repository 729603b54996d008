"""genie_exp: Genie zero-shot quantization (Genie-D distillation + Genie-M reconstruction).

The Python API (no Hydra): `distill`, `quantize`, `evaluate` (api.py), `load_quantized` / `save_quantized`
(artifact.py), `export_quantized` / `verify` (export/calls.py: ONNX or encodings, onnxruntime's check);
the settings as dataclasses in `genie_exp.config`. Imported on first use, so `import genie_exp` is cheap."""

__version__ = "0.2.0"
__all__ = ["distill", "quantize", "evaluate", "load_quantized", "save_quantized", "export_quantized", "verify",
           "QuantReport", "UserError", "__version__"]

_LAZY = {"distill": "api", "quantize": "api", "evaluate": "api", "QuantReport": "api",
         "load_quantized": "artifact", "save_quantized": "artifact", "UserError": "core.errors",
         "export_quantized": "export.calls", "verify": "export.calls"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        where = _LAZY[name]
        value = getattr(import_module(f"{__name__}.{where}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
