"""Keep the console to our own progress bars and summary: Lightning's banners, tips and the warnings
that one short Trainer per batch / per unit triggers on purpose go."""
from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Iterator

LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning")
PATTERNS = (".*does not have many workers.*", ".*isinstance\\(treespec, LeafSpec\\).*", ".*LitLogger.*",
            ".*litlogger.*", ".*GPU available but not used.*", ".*The number of training batches.*",
            ".*`training_step` returned.*", ".*in eval mode.*", ".*smaller than the logging interval.*",
            ".*Tensor Cores.*",
            # DDP (trainer=ddp): NHWC weights' gradients vs DDP's flat buckets (a copy, not an error),
            # and deprecations inside Lightning's own DDP code
            ".*Grad strides do not match bucket view strides.*", ".*`broadcast_buffers` is deprecated.*",
            ".*all_gather is deprecated.*",
            # DDP on a GPU: DDP keeps the gradient nodes alive between steps by design
            ".*AccumulateGrad node's stream does not match.*")


def quiet_libraries() -> None:
    """For the whole process (the CLI)."""
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in PATTERNS:
        warnings.filterwarnings("ignore", message=pattern)


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """The same, only within the block (library callers keep their own settings afterwards)."""
    loggers = [logging.getLogger(n) for n in LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for pattern in PATTERNS:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for lg, lvl in zip(loggers, levels):
            lg.setLevel(lvl)
