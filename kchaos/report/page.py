"""Rendering a page: the Jinja2 environment, the inlined plotly.js bundle, one function per page.

Templates live in kchaos/report/templates/ (package data). Autoescaping is on
for everything, and an undefined name is an error rather than an empty string.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from kchaos.report.figures import FigureSet


@lru_cache(maxsize=1)
def plotly_bundle() -> str:
    """plotly.js as inlined in the page.

    The bundle's only plot.ly address is the default topojsonURL, used by geo
    maps (which the report never draws); it is pointed at a relative path so
    the page names no CDN at all.
    """
    return get_plotlyjs().replace('"https://cdn.plot.ly/un/"', '"topojson/"')


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kchaos.report"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # The figures' JSON keeps plotly's key order; ``tojson`` still escapes <, >, & and ' for <script>.
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":")}
    return env


def prepare_page() -> None:
    """The first page's one-off costs: Jinja2 compiles the templates (kept in the environment's
    cache), plotly imports the figure classes the pages draw with, plotly.js is read."""
    env = environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    plotly_bundle()
    import plotly.graph_objects as go
    import plotly.io as pio

    from kchaos.report.figures import base_layout

    line = dict(width=1)  # every nested property class the figures set (plotly imports each lazily)
    layout = base_layout(annotations=[dict(text="", font=dict(size=1))], shapes=[dict(type="line", line=line)],
                         legend=dict(x=0), xaxis=dict(title=dict(font=dict(size=1))),
                         yaxis=dict(title=dict(font=dict(size=1))))
    figure = go.Figure([go.Bar(marker=dict(line=line)), go.Scatter(line=line, marker=dict(size=1)),
                        go.Sunburst(marker=dict(line=line))], layout=layout)
    pio.to_json(figure, validate=False)


def render_page(template: str, view: dict, figures: FigureSet) -> str:
    """One self-contained page: ``view`` is plain data, ``figures`` are drawn by one script at the end."""
    return environment().get_template(template).render(
        view=view,
        figures=figures.specs(),
        plotly_js=Markup(plotly_bundle()),  # trusted: plotly.js itself, inlined once
    )
