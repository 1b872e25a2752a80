"""The self-contained HTML report (index.html) rendered from a results document.

One page, no network: the template templates/report.html gets plain data
from :mod:`kchaos.report.views` and :mod:`kchaos.report.sections`, plotly.js
is inlined once and every figure is drawn from JSON by ``Plotly.newPlot``.
Every string that came from the topology is escaped by Jinja2's autoescape in
the page, and by :func:`esc` inside plot labels.
"""

from __future__ import annotations

from kchaos.report import downtime, planned, sections, views
from kchaos.report.figures import FigureSet, esc
from kchaos.report.formatting import get
from kchaos.report.page import plotly_bundle, render_page
from kchaos.report.sections import MAX_DOMAIN_ROWS
from kchaos.report.uncertainty import interval_covers


def render_html(results: dict) -> str:
    """The whole report page for one results document, as a self-contained HTML string."""
    r = results if isinstance(results, dict) else {}
    figs = FigureSet()  # figures are numbered in the order added: downtime, topology, distributions, load, ...
    view = {
        "title": f"kchaos: {get(r, 'topology', 'name', default='report')}",
        "header": views.header(r),
        "intervals": interval_covers(r),
        "cards": views.control_plane_cards(r) + views.load_cards(r),
        "workload_cards": views.workload_cards(r),
        "workload_table": views.workload_table(r),
        "slo": views.slo(r),
        "advisories": views.advisory_section(r),
        "downtime": downtime.downtime(r, figs),
        "fix_first": downtime.fix_first(r),
        "planned": planned.planned(r),
        "topology": sections.topology(r, figs),
        "blast": sections.blast_radius(r),
        "distributions": sections.distributions(r, figs),
        "eviction": sections.eviction(r),
        "load": sections.load(r, figs),
        "commit": sections.commit(r, figs),
        "convergence": sections.convergence(r, figs),
        "footer": sections.footer(r),
    }
    return render_page("report.html", view, figs)


__all__ = ["render_html", "plotly_bundle", "esc", "MAX_DOMAIN_ROWS"]
