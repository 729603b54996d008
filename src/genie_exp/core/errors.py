"""The one exception type for mistakes a user can make: the CLI prints it as one line."""


class UserError(Exception):
    """A bad config, a missing file or similar: reported as one line, never as a traceback."""
