"""Compare runs: read every metrics.json under some directories (or a W&B project), tabulate and plot."""
from .collect import collect_failures, collect_metrics, group_rows
from .html import html_page, html_table
from .plot import plot_top1
from .table import markdown_table

__all__ = ["collect_failures", "collect_metrics", "group_rows", "html_page", "html_table", "markdown_table",
           "plot_top1"]
