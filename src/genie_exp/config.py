"""The settings, as dataclasses: the ONE place every default lives, with what each value may be (a
field's range or choices, checked by `check_section`; rules across fields in a class's `check`). The
Hydra CLI registers them as its schema (cli.py; typos and wrong types in overrides become errors) and
the YAML files under conf/ hold only what an option changes; the Python API (api.py) takes the same
fields as keywords and the same checks."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from .choices import (ACCELERATORS, ACT_GRIDS, ACT_INITS, AUGMENTS, BN_STATS, COMPILE_CHOICES, DATASETS, DDP_BACKENDS,
                      INPUT_PRIORS, LOGGERS, LSQ_GRADS)
from .core.errors import UserError, did_you_mean
from .core.hashing import key_of

SEED_MAX = 2**32 - 1  # numpy's and Lightning's seeds are 32-bit
MAX_STEPS = 10**6  # per batch / unit: 50x the paper's 20,000; beyond it a run is a typo, not a budget


def _checked(default: Any, **rule: Any) -> Any:
    """A field with its rule: `range=(lo, hi)` (None: unbounded; an integer where the field is one; a
    None value passes where the field is Optional), `choices=(...)` (`key`: the name the error uses,
    `lower`: compared in lower case), `bits=True` (an integer from 2 to 8)."""
    return field(default=default, metadata=rule)


USER_MODEL = "custom"  # +model=custom: the user's class that model.target names (models/reference.py's entry)


@dataclass
class ModelConfig:
    name: str = "resnet20"
    target: Optional[str] = None  # dotted path of a user class (model=custom)
    weights: Optional[str] = None  # a state dict to load instead of the zoo / library weights
    pretrained: bool = True
    kwargs: Dict[str, Any] = field(default_factory=dict)
    blocks: List[str] = field(default_factory=list)  # block class names for reconstruction (they win)
    factory: bool = False  # model.target names a function that returns the nn.Module, not a class

    def check(self) -> None:
        if str(self.name) != USER_MODEL and (self.target is not None or bool(self.factory)):
            key = "model.target" if self.target is not None else "model.factory"
            raise UserError(f"{key} is for a model of your own: add +model=custom (e.g. python -m genie_exp +model=custom "
                            f"model.target=my_pkg.my_mod.MyNet); without it the run would quantize {self.name}")


@dataclass
class DataConfig:
    name: str = _checked("fashion_mnist", choices=DATASETS, key="data")
    root: str = "/usr/share/datasets/fashion-mnist"
    download: bool = False
    num_classes: int = 10
    image_size: int = 32
    resize: int = 32
    batch_size: int = _checked(256, range=(1, None))  # evaluation batch
    workers: int = _checked(0, range=(0, None))
    eval_samples: Optional[int] = _checked(None, range=(1, None))  # evaluate on the first N test images (smoke runs)


@dataclass
class BudgetConfig:
    # Mixed precision (quant/mixed.py): the weight bits per layer chosen from 2/3/4/8 by their damage on the
    # calibration set, with this size-weighted average over the layers that would get quant.w (the first/last/
    # gate rules and quant.layer_bits keep theirs); null = uniform quant.w
    weight_bits_avg: Optional[float] = _checked(None, range=(2, 8))


@dataclass
class QuantConfig:
    w: Any = _checked(4, bits=True)  # validated as an integer in 2..8 (typed Any so the error names the valid range)
    a: Any = _checked(4, bits=True)
    first_layer_bits: int = _checked(8, range=(2, 8))  # weights of the first layer
    quantize_image: bool = False  # the first layer's input (the image)
    second_input_bits: Optional[int] = _checked(8, range=(2, 8))  # input of the second layer; null = quant.a
    last_layer_bits: Optional[int] = _checked(8, range=(2, 8))  # W and A of the last layer; null = quant.w / quant.a
    fold_bn: bool = False
    calib_samples: int = _checked(256, range=(1, None))  # images used to initialise activation steps
    # Which images set the activation steps' initial ranges: `calib` the calibration set; a source name
    # (genie | real | ...) that source's set (same distill settings), while reconstruction still uses
    # the calibration set. For studies of where a gap comes from; `real` makes a run few-shot.
    act_ranges: str = "calib"
    lp: float = _checked(2.4, range=(0, None))  # norm of the step-size grid search
    # Grid of a signed activation: symmetric (the paper's: half the levels below zero) | auto (also a
    # grid whose zero sits where the range puts it, if its error is lower: quant/grid.py)
    act_grid: str = _checked("symmetric", choices=ACT_GRIDS)
    # Bits of the layers inside squeeze-and-excitation gates (weights and input), as the first and last
    # layers have theirs; null = quant.w / quant.a
    gate_bits: Optional[int] = _checked(None, range=(2, 8))
    # Per-layer bits on top of those rules (quant/layer_bits.py): a layer name or glob -> {w: BITS, a: BITS},
    # e.g. '+quant.layer_bits={features.1.*: {w: 4}, classifier.1: {w: 8, a: 8}}' (a layer's dotted name is one key)
    layer_bits: Dict[str, Any] = field(default_factory=dict)
    budget: BudgetConfig = field(default_factory=BudgetConfig)

    def check(self) -> None:
        check_layer_bits(self.layer_bits)
        check_section(self.budget, "quant.budget")


@dataclass
class QuantizerConfig:
    name: str = "genie"  # genie | adaround | rtn (what each does: quant/methods.py)


@dataclass
class DistillConfig:
    name: str = "genie"  # genie | zeroq | noise | real (what each is: distillation/sources.py)
    samples: int = _checked(256, range=(1, None))
    batch_size: int = _checked(128, range=(1, None))
    iters: int = _checked(100, range=(1, MAX_STEPS))  # budgets measured in experiments/time_to_accuracy; the paper's: budget=paper
    lr_latent: float = _checked(0.1, range=(0, None))
    lr_generator: float = _checked(0.01, range=(0, None))
    lr_pixels: float = _checked(0.25, range=(0, None))  # zeroq
    latent_dim: int = _checked(256, range=(1, None))
    swing: bool = True
    parallel_batches: int = _checked(1, range=(1, None))  # batches fitted together in one forward (same per-batch statistics)
    early_stop: Optional[int] = _checked(None, range=(1, None))  # stop a group after this many steps without a 1% better loss
    # What the generator may draw (genie): `colour` three free channels (the paper's); `grey` one
    # channel repeated over the model's three inputs; `auto` grey when the teacher's first conv barely
    # tells its input channels apart (distillation/input_prior.py says how that is read from the weights).
    input_prior: str = _checked("colour", choices=INPUT_PRIORS)
    # The generator's last BatchNorm learns a per-channel scale and shift (true) or leaves every channel
    # at zero mean and unit std (false, the paper's): the data's own input statistics need not be those.
    output_affine: bool = False
    # Weight of a cross-entropy term that pulls the teacher's output on image i of the set toward class
    # i mod num_classes: a class-balanced, confidently classified set (0: off, the paper's loss, which
    # leaves the class mix to chance). distillation/class_loss.py.
    class_loss: float = _checked(0.0, range=(0, None))
    # The BN-statistics loss (distillation/bn_stats.py): `first_bn_weight` multiplies the first BatchNorm
    # layer's term (Sony MCT's first-layer multiplier; 1: the paper's equal weights, which leave the
    # images' low-level statistics the worst fitted: 10 closes 1.2 of mobilenetv2's 3 points to real
    # images and leaves the residual nets within seed noise, experiments/depthwise/README.md); `stats`
    # `batch` fits each batch to the statistics (the paper's), `group` the images fitted together
    # (distill.parallel_batches batches; all of them: statistics of the whole set, as MCT can).
    first_bn_weight: float = _checked(10.0, range=(0, None))
    stats: str = _checked("batch", choices=BN_STATS)
    cache: bool = True

    def check(self) -> None:
        if self.stats == "group" and self.parallel_batches < 2:
            raise UserError("distill.stats=group matches the statistics of the batches fitted together; with "
                            "distill.parallel_batches=1 each batch is alone (that is distill.stats=batch): set "
                            "distill.parallel_batches to 2 or more (samples / batch_size: the whole set)")


@dataclass
class ReconConfig:
    iters: int = _checked(1000, range=(1, MAX_STEPS))  # per unit
    batch_size: int = _checked(32, range=(1, None))
    lr_weight_step: float = _checked(1e-4, range=(0, None))
    lr_act_step: float = _checked(4e-5, range=(0, None))
    lr_rounding: float = _checked(3e-3, range=(0, None))  # the paper's 1e-3 is for its 20,000 steps (budget=paper)
    round_weight: float = _checked(1.0, range=(0, None))
    beta_start: float = _checked(20.0, range=(0, None))
    beta_end: float = _checked(2.0, range=(0, None))
    warmup: float = _checked(0.2, range=(0, 1))
    qdrop_prob: float = _checked(0.5, range=(0, 1))
    # Where the LSQ activation-step gradient treats x as clipped: `paper` tests x/s against [lo, hi]
    # (Esser et al.); `rounded` tests round(x/s) against (lo, hi), bounds excluded (what autograd through
    # round-then-clamp gives): elements within half a step of a bound count as clipped, e.g. post-ReLU
    # values below s/2 pass no gradient.
    lsq_grad: str = _checked("paper", choices=LSQ_GRADS)
    # Chains without skips: a depthwise conv and the layer that reads it form one unit when a module
    # holds just them (BRECQ's mobilenet grouping); false: such layers are units of their own.
    group_depthwise: bool = True
    # When the activation steps get their initial values: `upfront` from one pass of the RTN student
    # over quant.calib_samples images, before any unit; `per_unit` just before each unit's
    # reconstruction, from the student with every earlier unit already reconstructed (the order of the
    # paper's code, which sets a unit's steps on its first capture batch).
    act_init: str = _checked("upfront", choices=ACT_INITS)
    # The calibration images as the reconstruction sees them (recon/images.py): `lowpass` the width of a
    # Gaussian low-pass on their spectrum, as a fraction of the Nyquist frequency (0: off); `augment`
    # `flip` adds their mirror images (none: the set as distilled).
    lowpass: float = _checked(0.0, range=(0, None))
    augment: str = _checked("none", choices=AUGMENTS)
    # Cosine-anneal the weight steps' learning rate too (the paper's code anneals both step groups);
    # false: only the activation steps' rate is annealed.
    anneal_weight_step: bool = False
    # The quantizers' elementwise work, the QDrop mix and the loss as compiled kernels (quant/kernels.py):
    # `true`, `false` (eager), or `auto`: compiled where torch.compile can build kernels here (a C++
    # compiler, Triton on a GPU) and from recon/stage.AUTO_MIN_STEPS steps in all (the compile repays).
    compile: str = _checked("auto", choices=COMPILE_CHOICES, lower=True)


@dataclass
class TrainConfig:  # teacher training for the zoo
    epochs: int = _checked(8, range=(1, None))
    batch_size: int = _checked(128, range=(1, None))
    lr: float = _checked(0.1, range=(0, None))
    momentum: float = 0.9
    weight_decay: float = 5e-4
    max_batches: Optional[int] = _checked(None, range=(1, None))  # per epoch; for smoke tests
    out: Optional[str] = None  # where train.py saves; default the teacher cache


@dataclass
class BenchConfig:  # python -m genie_exp.bench
    reps: int = _checked(10, range=(1, None))  # timed repetitions of each floor (median)
    warmup: int = _checked(3, range=(0, None))  # untimed calls first; also the steps of each fit left out of the step median
    end_to_end: bool = True  # also run the whole pipeline (fresh distillation) and time its steps
    out: str = "experiments/bench/latest.json"


@dataclass
class TrainerConfig:
    accelerator: str = _checked("auto", choices=ACCELERATORS)
    devices: Any = 1
    num_nodes: int = _checked(1, range=(1, None))
    strategy: str = "auto"
    ddp_backend: Optional[str] = _checked(None, choices=DDP_BACKENDS)  # null: Lightning's choice (nccl on GPUs, gloo on CPUs)
    precision: str = "32-true"
    channels_last: bool = True  # NHWC layout while distilling and reconstructing (same values, faster)


@dataclass
class LoggerConfig:
    name: str = _checked("csv", choices=LOGGERS, key="logger")  # csv | wandb
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
    seed: int = _checked(0, range=(0, SEED_MAX))
    progress: bool = True
    resume: bool = True  # pick up a killed run's finished distillation batches / recon units (cache_dir)

    def check(self) -> None:
        if self.quant.act_ranges != "calib" and self.recon.act_init == "per_unit":
            raise UserError("quant.act_ranges sets the ranges up front; it does not go with recon.act_init=per_unit")


def check_bits(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 8:
        raise UserError(f"{key} must be an integer from 2 to 8, got {value!r}")
    return value


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


def check_layer_bits(layer_bits: Any, key: str = "quant.layer_bits") -> dict:
    """`layer_bits` as a plain {pattern: {"w"/"a": bits}}, or a one-line UserError naming the entry."""
    if not isinstance(layer_bits, dict):
        raise UserError(f"{key} must map layer names or globs to {{w: BITS, a: BITS}}, got {type(layer_bits).__name__}")
    out = {}
    for pattern, spec in layer_bits.items():
        if not isinstance(pattern, str) or not pattern:
            raise UserError(f"{key}: a layer name or glob must be a non-empty string, got {pattern!r}")
        if not isinstance(spec, dict) or not spec or set(spec) - {"w", "a"}:
            raise UserError(f"{key}['{pattern}'] must be {{w: BITS}}, {{a: BITS}} or both, got {spec!r}")
        for k, bits in spec.items():
            if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
                raise UserError(f"{key}['{pattern}'].{k} must be an integer from 2 to 8, got {bits!r}")
        out[pattern] = dict(spec)
    return out


def check_choice(value: Any, key: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise UserError(f"unknown {key} '{value}'{did_you_mean(value, choices)} (choose from: {', '.join(choices)})")


def check_section(obj: Any, group: str) -> None:
    """Every field rule of one settings object (`group`: its config group, e.g. recon; "" for Config's
    own fields), then its `check`: one UserError line for the first value that breaks one."""
    for f in dataclasses.fields(obj):
        rule, value, key = f.metadata, getattr(obj, f.name), f"{group}.{f.name}" if group else f.name
        optional = str(f.type).startswith("Optional")
        if value is None and optional:
            continue
        if rule.get("bits"):
            check_bits(value, key)
        if "range" in rule:
            check_number(value, key, *rule["range"], str(f.type).replace("Optional[", "").rstrip("]") == "int")
        if "choices" in rule:
            check_choice(str(value).lower() if rule.get("lower") else str(value), rule.get("key", key), rule["choices"])
    if hasattr(obj, "check"):
        obj.check()


def check_config(config: "Config") -> None:
    """The rules of every section of a run's settings, then those across sections (the names with
    code behind them, models, sources, methods and devices, are validate.py's)."""
    for f in dataclasses.fields(config):
        section = getattr(config, f.name)
        if dataclasses.is_dataclass(section):
            check_section(section, f.name)
    check_section(config, "")


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
                  "distill.first_bn_weight": 1.0, "distill.stats": "batch",
                "quant.budget.weight_bits_avg": None}
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
