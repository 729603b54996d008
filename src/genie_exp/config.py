"""The settings, as dataclasses: the ONE place every default lives. The Hydra CLI registers them as
its schema (cli.py; typos and wrong types in overrides become errors) and the YAML files under conf/
hold only what an option changes; the Python API (api.py) takes the same fields as keywords."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from .choices import BN_STATS
from .core.errors import UserError, did_you_mean
from .core.hashing import key_of


@dataclass
class ModelConfig:
    name: str = "resnet20"
    target: Optional[str] = None  # dotted path of a user class (model=custom)
    weights: Optional[str] = None  # a state dict to load instead of the zoo / library weights
    pretrained: bool = True
    kwargs: Dict[str, Any] = field(default_factory=dict)
    blocks: List[str] = field(default_factory=list)  # block class names for reconstruction (they win)
    factory: bool = False  # model.target names a function that returns the nn.Module, not a class


@dataclass
class DataConfig:
    name: str = "fashion_mnist"
    root: str = "/usr/share/datasets/fashion-mnist"
    download: bool = False
    num_classes: int = 10
    image_size: int = 32
    resize: int = 32
    batch_size: int = 256  # evaluation batch
    workers: int = 0
    eval_samples: Optional[int] = None  # evaluate on the first N test images (smoke runs)


@dataclass
class QuantConfig:
    w: Any = 4  # validated as an integer in 2..8 (typed Any so the error names the valid range)
    a: Any = 4
    first_layer_bits: int = 8  # weights of the first layer
    quantize_image: bool = False  # the first layer's input (the image)
    second_input_bits: Optional[int] = 8  # input of the second layer; null = quant.a
    last_layer_bits: Optional[int] = 8  # W and A of the last layer; null = quant.w / quant.a
    fold_bn: bool = False
    calib_samples: int = 256  # images used to initialise activation steps
    # Which images set the activation steps' initial ranges: `calib` the calibration set; a source name
    # (genie | real | ...) that source's set (same distill settings), while reconstruction still uses
    # the calibration set. For studies of where a gap comes from; `real` makes a run few-shot.
    act_ranges: str = "calib"
    lp: float = 2.4  # norm of the step-size grid search
    # Grid of a signed activation: symmetric (the paper's: half the levels below zero) | auto (also a
    # grid whose zero sits where the range puts it, if its error is lower: quant/grid.py)
    act_grid: str = "symmetric"
    # Bits of the layers inside squeeze-and-excitation gates (weights and input), as the first and last
    # layers have theirs; null = quant.w / quant.a
    gate_bits: Optional[int] = None


@dataclass
class QuantizerConfig:
    name: str = "genie"  # genie | adaround | rtn (what each does: quant/methods.py)


@dataclass
class DistillConfig:
    name: str = "genie"  # genie | zeroq | noise | real (what each is: distillation/sources.py)
    samples: int = 256
    batch_size: int = 128
    iters: int = 100  # budgets measured in experiments/time_to_accuracy; the paper's: budget=paper
    lr_latent: float = 0.1
    lr_generator: float = 0.01
    lr_pixels: float = 0.25  # zeroq
    latent_dim: int = 256
    swing: bool = True
    parallel_batches: int = 1  # batches fitted together in one forward (same per-batch statistics)
    early_stop: Optional[int] = None  # stop a group after this many steps without a 1% better loss
    # What the generator may draw (genie): `colour` three free channels (the paper's); `grey` one
    # channel repeated over the model's three inputs; `auto` grey when the teacher's first conv barely
    # tells its input channels apart (distillation/input_prior.py says how that is read from the weights).
    input_prior: str = "colour"
    # The generator's last BatchNorm learns a per-channel scale and shift (true) or leaves every channel
    # at zero mean and unit std (false, the paper's): the data's own input statistics need not be those.
    output_affine: bool = False
    # Weight of a cross-entropy term that pulls the teacher's output on image i of the set toward class
    # i mod num_classes: a class-balanced, confidently classified set (0: off, the paper's loss, which
    # leaves the class mix to chance). distillation/class_loss.py.
    class_loss: float = 0.0
    # The BN-statistics loss (distillation/bn_stats.py): `first_bn_weight` multiplies the first BatchNorm
    # layer's term (Sony MCT's first-layer multiplier; 1: the paper's equal weights, which leave the
    # images' low-level statistics the worst fitted: 10 closes 1.2 of mobilenetv2's 3 points to real
    # images and leaves the residual nets within seed noise, experiments/depthwise/README.md); `stats`
    # `batch` fits each batch to the statistics (the paper's), `group` the images fitted together
    # (distill.parallel_batches batches; all of them: statistics of the whole set, as MCT can).
    first_bn_weight: float = 10.0
    stats: str = "batch"
    cache: bool = True


@dataclass
class ReconConfig:
    iters: int = 1000  # per unit
    batch_size: int = 32
    lr_weight_step: float = 1e-4
    lr_act_step: float = 4e-5
    lr_rounding: float = 3e-3  # the paper's 1e-3 is for its 20,000 steps (budget=paper)
    round_weight: float = 1.0
    beta_start: float = 20.0
    beta_end: float = 2.0
    warmup: float = 0.2
    qdrop_prob: float = 0.5
    # Where the LSQ activation-step gradient treats x as clipped: `paper` tests x/s against [lo, hi]
    # (Esser et al.); `rounded` tests round(x/s) against (lo, hi), bounds excluded (what autograd through
    # round-then-clamp gives): elements within half a step of a bound count as clipped, e.g. post-ReLU
    # values below s/2 pass no gradient.
    lsq_grad: str = "paper"
    # Chains without skips: a depthwise conv and the layer that reads it form one unit when a module
    # holds just them (BRECQ's mobilenet grouping); false: such layers are units of their own.
    group_depthwise: bool = True
    # When the activation steps get their initial values: `upfront` from one pass of the RTN student
    # over quant.calib_samples images, before any unit; `per_unit` just before each unit's
    # reconstruction, from the student with every earlier unit already reconstructed (the order of the
    # paper's code, which sets a unit's steps on its first capture batch).
    act_init: str = "upfront"
    # The calibration images as the reconstruction sees them (recon/images.py): `lowpass` the width of a
    # Gaussian low-pass on their spectrum, as a fraction of the Nyquist frequency (0: off); `augment`
    # `flip` adds their mirror images (none: the set as distilled).
    lowpass: float = 0.0
    augment: str = "none"
    # Cosine-anneal the weight steps' learning rate too (the paper's code anneals both step groups);
    # false: only the activation steps' rate is annealed.
    anneal_weight_step: bool = False
    # The quantizers' elementwise work, the QDrop mix and the loss as compiled kernels (quant/kernels.py):
    # `true`, `false` (eager), or `auto`: compiled where torch.compile can build kernels here (a C++
    # compiler, Triton on a GPU) and from recon/stage.AUTO_MIN_STEPS steps in all (the compile repays).
    compile: str = "auto"


@dataclass
class TrainConfig:  # teacher training for the zoo
    epochs: int = 8
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    max_batches: Optional[int] = None  # per epoch; for smoke tests
    out: Optional[str] = None  # where train.py saves; default the teacher cache


@dataclass
class BenchConfig:  # python -m genie_exp.bench
    reps: int = 10  # timed repetitions of each floor (median)
    warmup: int = 3  # untimed calls first; also the steps of each fit left out of the step median
    end_to_end: bool = True  # also run the whole pipeline (fresh distillation) and time its steps
    out: str = "experiments/bench/latest.json"


@dataclass
class TrainerConfig:
    accelerator: str = "auto"
    devices: Any = 1
    num_nodes: int = 1
    strategy: str = "auto"
    ddp_backend: Optional[str] = None  # null: Lightning's choice (nccl on GPUs, gloo on CPUs)
    precision: str = "32-true"
    channels_last: bool = True  # NHWC layout while distilling and reconstructing (same values, faster)


@dataclass
class LoggerConfig:
    name: str = "csv"  # csv | wandb
    project: str = "genie-exp"
    entity: Optional[str] = None
    mode: str = "offline"  # online | offline | disabled; WANDB_MODE wins; online needs credentials
    init_timeout: float = 30.0  # seconds wandb.init may wait for the server before falling back offline


@dataclass
class PathsConfig:
    cache_dir: str = "${oc.env:GENIE_CACHE_DIR,${oc.env:HOME,.}/.cache/genie_exp}"


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    quant: QuantConfig = field(default_factory=QuantConfig)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    recon: ReconConfig = field(default_factory=ReconConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    seed: int = 0
    progress: bool = True
    resume: bool = True  # pick up a killed run's finished distillation batches / recon units (cache_dir)


# ---- valid ranges of the numbers above (the CLI's validate.py and the Python API check them) ----
# key -> (lowest allowed, highest allowed, integer?); None: no bound
SEED_MAX = 2**32 - 1  # numpy's and Lightning's seeds are 32-bit
MAX_STEPS = 10**6  # per batch / unit: 50x the paper's 20,000; beyond it a run is a typo, not a budget
NUMBERS = {
    "seed": (0, SEED_MAX, True),
    "distill.samples": (1, None, True), "distill.batch_size": (1, None, True), "distill.iters": (1, MAX_STEPS, True),
    "distill.parallel_batches": (1, None, True), "distill.latent_dim": (1, None, True),
    "distill.lr_latent": (0, None, False), "distill.lr_generator": (0, None, False), "distill.lr_pixels": (0, None, False),
    "distill.class_loss": (0, None, False), "distill.first_bn_weight": (0, None, False),
    "recon.iters": (1, MAX_STEPS, True), "recon.batch_size": (1, None, True),
    "recon.lr_weight_step": (0, None, False), "recon.lr_act_step": (0, None, False), "recon.lr_rounding": (0, None, False),
    "recon.round_weight": (0, None, False), "recon.beta_start": (0, None, False), "recon.beta_end": (0, None, False),
    "recon.warmup": (0, 1, False), "recon.qdrop_prob": (0, 1, False), "recon.lowpass": (0, None, False),
    "quant.first_layer_bits": (2, 8, True), "quant.calib_samples": (1, None, True), "quant.lp": (0, None, False),
    "data.batch_size": (1, None, True), "data.workers": (0, None, True),
    "train.epochs": (1, None, True), "train.batch_size": (1, None, True), "train.lr": (0, None, False),
    "bench.reps": (1, None, True), "bench.warmup": (0, None, True), "trainer.num_nodes": (1, None, True),
}
OPTIONAL_NUMBERS = {"quant.second_input_bits": (2, 8, True), "quant.last_layer_bits": (2, 8, True),
                    "quant.gate_bits": (2, 8, True),
                    "data.eval_samples": (1, None, True), "distill.early_stop": (1, None, True),
                    "train.max_batches": (1, None, True)}


def check_bits(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 8:
        raise UserError(f"{key} must be an integer from 2 to 8, got {value!r}")
    return value


def select(cfg: Any, key: str) -> Any:
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _is_rate(key: str) -> bool:
    return key.rsplit(".", 1)[-1].startswith("lr")


def check_number(value: Any, key: str, lo, hi, integer: bool) -> None:
    """One line naming the key and the allowed range; a learning rate must be above 0."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int))
    if not bad and not integer and not math.isfinite(value):
        bad = True
    if not bad:
        strict_zero = _is_rate(key)  # 0 would stop learning
        bad = (value <= lo if strict_zero else (lo is not None and value < lo)) or (hi is not None and value > hi)
    if bad:
        kind = "an integer" if integer else "a number"
        if _is_rate(key):
            rng = "above 0"
        elif hi is None:
            rng = f">= {lo}"
        else:
            rng = f"from {lo} to {hi}"
        raise UserError(f"{key} must be {kind} {rng}, got {value!r}")


def check_bn_stats(stats: str, parallel_batches: int) -> None:
    """distill.stats names a choice, and `group` has a group to match: two batches or more at a time."""
    if stats not in BN_STATS:
        raise UserError(f"unknown distill.stats '{stats}'{did_you_mean(stats, BN_STATS)} (choose from: "
                        f"{', '.join(BN_STATS)})")
    if stats == "group" and parallel_batches < 2:
        raise UserError("distill.stats=group matches the statistics of the batches fitted together; with "
                        "distill.parallel_batches=1 each batch is alone (that is distill.stats=batch): set "
                        "distill.parallel_batches to 2 or more (samples / batch_size: the whole set)")


def check_fields(obj: Any, prefix: str) -> None:
    """The number checks for one settings object (`prefix`: its config group, e.g. recon)."""
    for table in (NUMBERS, OPTIONAL_NUMBERS):
        for key, (lo, hi, integer) in table.items():
            group, _, name = key.partition(".")
            if group == prefix and hasattr(obj, name):
                value = getattr(obj, name)
                if value is not None or table is NUMBERS:
                    check_number(value, key, lo, hi, integer)


def with_options(objs: Sequence[Any], options: dict, owners: Sequence[type], keywords: Sequence[str] = ()) -> list:
    """`objs` (one settings object per type in `owners`) with `options` applied to whichever has the
    field; an unknown keyword is a TypeError that names the valid ones (the fields, and `keywords`: the
    calling function's own parameters, which a misspelt one most likely meant)."""
    objs = list(objs)
    fields = [{f.name for f in dataclasses.fields(t)} for t in owners]
    for key, value in options.items():
        for i, names in enumerate(fields):
            if key in names:
                objs[i] = dataclasses.replace(objs[i], **{key: value})
                break
        else:
            valid = sorted(set().union(*fields, keywords))
            raise TypeError(f"unknown keyword '{key}'{did_you_mean(key, valid)} (valid: {', '.join(valid)})")
    return objs


# ---- which settings decide a result (the report groups runs by them) ------------------------------
# Everything not listed here can change a run's result, so it is part of the run's fingerprint. These
# cannot: where files go, how the run is logged or shown, whether it may resume, the benchmark and
# teacher-training settings (the teacher itself is named in metrics.json), and the seed, which a
# report shows per run (equal fingerprints, different seeds: repeats of one setting).
# Switches with the value at which they are off (the method as its paper has it): left there, a key stays
# out of the settings, so a run's fingerprint names only the departures it makes, and runs that differ
# only in switches they leave off share one fingerprint.
SWITCHES_OFF = {"distill.input_prior": "colour", "distill.output_affine": False, "quant.act_ranges": "calib",
                  "distill.class_loss": 0.0, "recon.compile": "false", "recon.lowpass": 0.0, "recon.augment": "none",
                  "distill.first_bn_weight": 1.0, "distill.stats": "batch"}
NOT_RESULT = ("seed", "paths", "logger", "progress", "resume", "bench", "train", "data.root", "data.download",
              "data.workers", "data.batch_size", "distill.cache")


def flatten(tree: Any, prefix: str = "") -> dict:
    """{'a': {'b': 1}} -> {'a.b': 1}; tuples become lists, as JSON has them."""
    out = {}
    for k, v in (tree or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = list(v) if isinstance(v, (list, tuple)) else v
    return out


def result_settings(config: dict) -> dict:
    """The flat settings of a resolved config that can change its result (see NOT_RESULT)."""
    return {k: v for k, v in sorted(flatten(config).items())
            if not any(k == n or k.startswith(n + ".") for n in NOT_RESULT) and not k.startswith("hydra")
            and not (k in SWITCHES_OFF and v == SWITCHES_OFF[k])}


def fingerprint(settings: dict) -> str:
    """A short hash of result_settings: equal for repeats of one setting with another seed."""
    return key_of(settings)[:12]
