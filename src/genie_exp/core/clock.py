"""How long this process has lived: the part of a run spent before its first stage (interpreter,
imports, config, teacher and data loading) is otherwise invisible in the stage timings."""
from __future__ import annotations

import os
from typing import Optional


def process_age_s() -> Optional[float]:
    """Seconds since this process started (Linux /proc); None where that cannot be read."""
    try:
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        with open("/proc/self/stat") as f:
            # the process name (field 2) may hold spaces; the fields after its ')' are fixed
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None
