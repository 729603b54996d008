"""The one exception type for mistakes a user can make: the CLI prints it as one line."""


class UserError(Exception):
    """A bad config, a missing file or similar: reported as one line, never as a traceback."""


def print_error(text: str) -> None:
    """The one `error: ...` line on stderr, at the start of a line even if a progress bar was drawing
    on it (a terminal's line is cleared first), so that `^error:` finds it."""
    import sys

    prefix = "\r\033[K" if sys.stderr.isatty() else ""
    sys.stderr.write(f"{prefix}error: {text}\n")
    sys.stderr.flush()


def did_you_mean(word: object, choices) -> str:
    """` (did you mean 'x'?)` for the closest of `choices` to a misspelt `word` (all of those equally
    close: `mobilenet` is as near to mobilenetv2 as to mobilenetv3), else ''."""
    from difflib import SequenceMatcher

    scored = [(SequenceMatcher(None, str(word), str(c)).ratio(), str(c)) for c in choices]
    best = max((r for r, _ in scored), default=0.0)
    if best < 0.6:
        return ""
    close = [c for r, c in scored if r == best][:3]
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"


def warn(text: str) -> None:
    """One `warning: ...` line on stdout, where the run's console (and its cli.log) shows it, from the
    CLI and the API alike; not logged as well, which under Hydra's stdout logging would print it twice."""
    print(f"warning: {text}", flush=True)
