"""Compare runs: read every metrics.json under some directories and tabulate them."""
from .collect import collect_metrics, group_rows
from .table import markdown_table

__all__ = ["collect_metrics", "group_rows", "markdown_table"]
