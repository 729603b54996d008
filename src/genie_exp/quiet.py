"""Keep the console to our own progress bars and summary: Lightning's banners and tips go."""
from __future__ import annotations

import logging
import warnings


def quiet_libraries() -> None:
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in (".*does not have many workers.*", ".*isinstance\\(treespec, LeafSpec\\).*",
                    ".*LitLogger.*", ".*litlogger.*", ".*GPU available but not used.*",
                    ".*The number of training batches.*", ".*`training_step` returned.*", ".*in eval mode.*"):
        warnings.filterwarnings("ignore", message=pattern)
