"""SIGTERM (scancel, preemption, `kill`) and SIGINT (Ctrl-C) end a run as interrupted, never as a
success: they raise `Interrupted`, which no stage catches, and the CLI turns it into one line and the
exit status 128 + signal (143, 130). Lightning's own handling would exit 0 on SIGTERM (its
SIGTERMException is a SystemExit without a code) and 1 without a message on Ctrl-C. The state kept so
far (finished distillation batches, reconstruction checkpoints) stays, so the same command resumes."""
from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT (Ctrl-C)"}
STARTUP = "start-up"
_stage = [STARTUP]  # what the run is doing, for the line that says where it stopped


class Interrupted(BaseException):
    """Raised by the signal handlers; a BaseException, so `except Exception` in any library lets it pass."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def line(self) -> str:
        return (f"interrupted by {NAMES.get(self.signum, f'signal {self.signum}')} during {_stage[0]}; "
                f"run the same command again to resume")


def _raise(signum, _frame) -> None:
    # One interruption is enough: a second Ctrl-C while we unwind must not cut the clean-up short.
    signal.signal(signum, signal.SIG_IGN)
    if _stage[0] == STARTUP:
        # Still importing: an exception raised inside a C extension's import (torch's) can abort the
        # process, and nothing has been written yet, so say it and leave at once.
        from .errors import print_error

        print_error(Interrupted(signum).line())
        os._exit(128 + signum)
    raise Interrupted(signum)


def install() -> None:
    """From now on SIGTERM and SIGINT raise Interrupted in the main thread."""
    for signum in NAMES:
        signal.signal(signum, _raise)


def set_stage(text: str) -> None:
    _stage[0] = text


@contextmanager
def stage(text: str) -> Iterator[None]:
    previous = _stage[0]
    _stage[0] = text
    yield  # no `finally`: an exception leaves the innermost stage in place for the line that reports it
    _stage[0] = previous


def run_command(start: Callable[[], None]) -> None:
    """A command line's whole life under the handlers, its imports included: `start` imports what it
    needs and runs; a signal before its own handling (hydra_entry's) is one line and 128 + signal,
    not a traceback (Ctrl-C) or silence (SIGTERM)."""
    install()
    set_stage(STARTUP)
    try:
        start()
    except Interrupted as e:
        from .errors import print_error

        print_error(e.line())
        sys.exit(e.exit_code)
