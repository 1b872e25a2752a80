"""Reports for people: the HTML pages (index.html, from Jinja2 templates) and the terminal summaries."""

from kchaos.report.formatting import format_availability, nines
from kchaos.report.html import render_html
from kchaos.report.terminal import print_summary

__all__ = ["format_availability", "nines", "print_summary", "render_html"]
