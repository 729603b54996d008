"""Which W&B mode a run really uses. Online needs credentials; anything doubtful means offline, so a
run never prompts for a key, never waits on a server it cannot reach, and never fails for logging."""
from __future__ import annotations

import netrc
import os
from pathlib import Path
from typing import Mapping, Optional
from urllib.parse import urlparse

MODES = ("online", "offline", "disabled")
DEFAULT_HOST = "https://api.wandb.ai"


def has_credentials(env: Mapping[str, str] = os.environ) -> bool:
    """An API key in the environment, or a netrc entry for the W&B host (what `wandb login` writes)."""
    if env.get("WANDB_API_KEY") or env.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlparse(env.get("WANDB_BASE_URL") or DEFAULT_HOST).hostname or ""
    path = Path(env.get("NETRC") or Path(env.get("HOME") or Path.home()) / ".netrc")
    try:
        return bool(path.is_file() and netrc.netrc(str(path)).authenticators(host))
    except (OSError, netrc.NetrcParseError):
        return False


def resolve_mode(requested: str, env: Mapping[str, str] = os.environ) -> tuple[str, Optional[str]]:
    """(mode, note): WANDB_MODE wins over `logger.mode` as in wandb itself; an invalid WANDB_MODE or
    online without credentials becomes offline, with a one-line note saying why."""
    raw = env.get("WANDB_MODE")
    if raw is not None:
        mode = {"dryrun": "offline", "run": "online"}.get(raw.strip(), raw.strip())
        if mode not in MODES:
            return "offline", f"WANDB_MODE={raw!r} is not one of {', '.join(MODES)}; logging offline"
    else:
        mode = requested if requested in MODES else "offline"
    if mode == "online" and not has_credentials(env):
        return "offline", "no W&B credentials (WANDB_API_KEY or a ~/.netrc entry from `wandb login`); logging offline"
    return mode, None
