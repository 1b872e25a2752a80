"""The `kchaos compare` page: variants side by side, rendered from templates/compare.html.

Same look and machinery as the run report (CSS, autoescape, the inlined
plotly bundle, one script drawing every figure): one self-contained file, no
CDN. The data comes from :mod:`kchaos.report.compare_views`.
"""

from __future__ import annotations

from kchaos.report import compare_views as cv
from kchaos.report.compare_verdict import verdict_lines
from kchaos.report.figures import FigureSet
from kchaos.report.formatting import get
from kchaos.report.page import render_page
from kchaos.report.reading import docs_of, is_etcd_sizes, topology_names, variant_labels


def render_comparison_html(results: list[dict]) -> str:
    """The comparison page for a list of results documents, as a self-contained HTML string."""
    docs = docs_of(results)
    labels = variant_labels(docs)
    sizes = is_etcd_sizes(docs)
    figs = FigureSet()  # figures are numbered in page order: availability, downtime, commit, workloads
    view: dict = {"title": f"kchaos compare: {', '.join(topology_names(docs)) or 'no variants'}", "empty": not docs}
    if docs:
        view.update(
            header=cv.header(docs, labels, sizes),
            headline=cv.headline(docs, labels),
            verdict=verdict_lines(docs),
            notes=cv.notes(docs, sizes),
            charts=cv.charts(docs, labels, figs),
            workloads=cv.workloads(docs, labels, figs),
            advisories=cv.advisory_section(docs, labels),
            version=str(get(docs[0], "kchaos_version", default="unknown")),
        )
    return render_page("compare.html", view, figs)


__all__ = ["render_comparison_html"]
