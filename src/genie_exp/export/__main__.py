"""`python -m genie_exp.export RUN_DIR --format onnx|encodings [--out PATH] [--verify [--data NAME]]`

RUN_DIR is a run directory holding quantized.pt (or the file itself). onnx: a QCDQ graph (see
onnx_export.py); encodings: integer weights, steps and zero points as JSON + safetensors (see
encodings.py). --verify (onnx): run the graph with onnxruntime on the run's test split (or --data's,
for a model saved from Python) and compare it with the PyTorch model, top-1 and logits."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m genie_exp.export", description=__doc__.split("\n\n")[1])
    p.add_argument("run", help="a run dir holding quantized.pt, or a quantized.pt")
    p.add_argument("--format", choices=("onnx", "encodings"), required=True)
    p.add_argument("--out", help="output path (default: next to quantized.pt)")
    p.add_argument("--verify", action="store_true", help="onnx: compare with PyTorch on the run's test split")
    p.add_argument("--eval-samples", type=int, default=None,
                   help="--verify on the first N test images (default: the run's data.eval_samples)")
    p.add_argument("--data", default=None,
                   help="--verify on this dataset's test split (fashion_mnist, cifar10, imagenet); needed for a "
                        "model saved from Python, which has no run data settings")
    p.add_argument("--data-root", default=None, help="with --data: where the dataset is (default: its config's)")
    args = p.parse_args(argv)

    from ..core.errors import UserError, print_error

    try:
        return _run(args)
    except UserError as e:
        print_error(str(e))
        return 2


def _run(args) -> int:
    from ..artifact import load_quantized, read_artifact
    from ..core.quiet import quiet_libraries

    quiet_libraries()
    source = Path(args.run)
    artifact = source / "quantized.pt" if source.is_dir() else source
    blob = read_artifact(artifact)
    if args.format == "encodings":
        from .encodings import export_encodings

        out = Path(args.out) if args.out else artifact.with_name("encodings")
        for path in export_encodings(blob, out):
            print(f"wrote {path}")
        return 0
    from .onnx_export import export_onnx

    out = Path(args.out) if args.out else artifact.with_suffix(".onnx")
    model = load_quantized(artifact)
    export_onnx(model, blob["input_shape"], out)
    print(f"wrote {out}")
    if args.verify:
        result = _verify(out, model, blob, args.eval_samples, args.data, args.data_root)
        print(json.dumps(result))
    return 0


def data_settings(blob: dict, name: str | None, root: str | None) -> dict:
    """The test data of --verify: `--data` (its conf/data file, at the model's image size), else the
    run's own data settings."""
    from omegaconf import OmegaConf

    from ..choices import DATASETS
    from ..cli import CONF_DIR
    from ..config import DataConfig
    from ..core.errors import UserError, did_you_mean

    if name is None:
        data_cfg = (blob.get("config") or {}).get("data")
        if not data_cfg:
            raise UserError("--verify: this model was saved from Python, so it has no run data settings: add "
                            "--data NAME (e.g. --data fashion_mnist), or call genie_exp.verify(model, images, labels)")
        if root is not None:
            data_cfg = {**data_cfg, "root": root}
        return data_cfg
    if name not in DATASETS:
        raise UserError(f"--data {name}: unknown dataset{did_you_mean(name, DATASETS)} (choose from: {', '.join(DATASETS)})")
    cfg = OmegaConf.merge(OmegaConf.structured(DataConfig), OmegaConf.load(CONF_DIR / "data" / f"{name}.yaml"))
    size = int(blob["input_shape"][-1])
    if size != int(cfg.image_size):  # the model's size wins; resized as the dataset's config would
        cfg.resize = round(size * int(cfg.resize) / int(cfg.image_size))
        cfg.image_size = size
    if root is not None:
        cfg.root = root
    return OmegaConf.to_container(cfg, resolve=True)


def _verify(onnx_path: Path, model, blob: dict, eval_samples, name: str | None = None, root: str | None = None) -> dict:
    from omegaconf import OmegaConf

    from ..core.errors import UserError
    from ..data import build_data
    from .verify import verify_onnx

    data_cfg = data_settings(blob, name, root)
    if "???" in str(data_cfg.get("root")):
        raise UserError(f"--data {name}: give --data-root (where the dataset is)")
    data = build_data(OmegaConf.create(data_cfg))
    n = eval_samples if eval_samples is not None else data_cfg.get("eval_samples")  # default: the run's own
    loader = data.test_loader(int(data_cfg.get("batch_size", 256)), n)
    return verify_onnx(onnx_path, model, loader)


if __name__ == "__main__":
    sys.exit(main())
