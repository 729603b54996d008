"""The run's own log file: everything the run writes to the console (stdout and stderr) also goes to
<run dir>/cli.log, as whole lines; a line redrawn with carriage returns (a progress bar on a terminal)
is written once, in its last state."""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


class _Tee:
    def __init__(self, stream: IO[str], log: IO[str]):
        self.stream, self.log, self.pending = stream, log, ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            line = line.rsplit("\r", 1)[-1].replace("\033[K", "")
            if line.strip():
                self.log.write(line + "\n")
        self.log.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)  # isatty, fileno, encoding, ...


@contextmanager
def tee_to(path: Path) -> Iterator[None]:
    """Within the block, stdout and stderr are copied to `path` (appended)."""
    try:
        log = open(path, "a", encoding="utf-8")
    except OSError:
        yield  # the run dir was checked before; should it fail now, the console still has it all
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(out, log), _Tee(err, log)
    # log records go to the console through handlers made before this block: copy them here too
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        sys.stdout, sys.stderr = out, err
        log.close()
