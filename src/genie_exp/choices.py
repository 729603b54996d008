"""The names a string setting may take, where they have no registry with code behind them. This
module imports nothing, so the CLI checks a config (cli.preflight) before torch loads; the modules
that act on a setting take its names from here."""

ACCELERATORS = ("auto", "cpu", "gpu", "cuda")  # core/devices.py
DATASETS = ("fashion_mnist", "cifar10", "imagenet")
ACT_GRIDS = ("symmetric", "auto")  # quant/grid.py
INPUT_PRIORS = ("colour", "grey", "auto")  # distillation/input_prior.py
COMPILE_CHOICES = ("auto", "true", "false")  # core/compiled.py
LOGGERS = ("csv", "wandb")  # tracking/trackers.py
DDP_BACKENDS = ("nccl", "gloo")
LSQ_GRADS = ("paper", "rounded")
ACT_INITS = ("upfront", "per_unit")
AUGMENTS = ("none", "flip")  # recon/images.py
BN_STATS = ("batch", "group")  # distillation/bn_stats.py
