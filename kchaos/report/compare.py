"""`kchaos compare` output: one page and one terminal table with the variants side by side.

The page is rendered by :mod:`kchaos.report.compare_html` (templates/compare.html),
the table by :mod:`kchaos.report.compare_terminal`; both are importable from here.
"""

from __future__ import annotations

from kchaos.report.compare_html import render_comparison_html
from kchaos.report.compare_terminal import print_comparison

__all__ = ["print_comparison", "render_comparison_html"]
