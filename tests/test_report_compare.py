"""The `kchaos compare` page and terminal table, from variants simulated by the real pipeline."""

from __future__ import annotations

import copy
import io
import json
import math
import re
from pathlib import Path

import pytest
from rich.console import Console

from kchaos.analysis.compare import CRN_NOTE, run_variants
from kchaos.report.compare import print_comparison, render_comparison_html
from kchaos.report.formatting import availability_supported, format_availability
from kchaos.report.html import plotly_bundle, render_html
from kchaos.topology import load_topology_text

SAMPLE = Path(__file__).parent / "data" / "sample_results.json"
EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

TOPOLOGY = """\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata:
  name: three-dc
  description: One region, three datacenters
regions:
  - name: eu
    datacenters:
      - {name: dc-a, racks: 2, serversPerRack: 3}
      - {name: dc-b, racks: 2, serversPerRack: 3}
      - {name: dc-c, racks: 2, serversPerRack: 3}
network:
  rtt: {sameDatacenter: 500us, sameRegion: 1ms}
controlPlane:
  members: MEMBERS
  placement: spread
workers:
  - pool: general
    count: 6
    placement: spread
    capacity: {cpu: 16, memory: 64Gi, pods: 110}
workloads:
  - name: web
    kind: Deployment
    replicas: 6
    requests: {cpu: 2, memory: 4Gi}
    minAvailable: 4
    spreadOver: datacenter
"""


@pytest.fixture(scope="module")
def variants() -> list[dict]:
    clusters = [(f"{n} member{'s' if n > 1 else ''}",
                 load_topology_text(TOPOLOGY.replace("MEMBERS", str(n)), filename="three-dc.yaml"))
                for n in (1, 3, 4)]
    return run_variants(clusters, failures=300, seed=1)


@pytest.fixture()
def results(variants) -> list[dict]:
    return copy.deepcopy(variants)


def _without_plotly(page: str) -> str:
    js = plotly_bundle()
    assert page.count(js) == 1
    return page.replace(js, "")


def _figures(page: str) -> list[dict]:
    return json.loads(re.search(r"var figs=(\[.*?\]);var cfg", page, re.S).group(1))


def _terminal(results: list[dict], width: int = 120, path: str | None = "reports/x-compare/index.html") -> str:
    console = Console(file=io.StringIO(), record=True, width=width, color_system=None)
    print_comparison(results, console, path)
    return console.export_text()


def _labels(results):
    return [r["variant"] for r in results]


# ------------------------------------------------------------------ the page


def test_pipeline_documents_are_comparable(results):
    assert _labels(results) == ["1 member", "3 members", "4 members"]
    assert all(r["run"]["common_random_numbers"] for r in results)
    assert [r["control_plane"]["tolerates"] for r in results] == [0, 1, 1]


def test_page_is_self_contained(results):
    page = render_comparison_html(results)
    assert page.startswith("<!DOCTYPE html>")
    rest = _without_plotly(page)  # plotly.js inlined exactly once
    assert "plotly.js v" not in rest
    assert not re.search(r"<script[^>]*\bsrc=", page, re.I)
    assert not re.search(r"<link\b", rest, re.I)
    assert "@import" not in rest and "url(" not in rest
    assert "http://" not in rest and "https://" not in rest
    assert "cdn" not in rest.lower() and "cdn.plot.ly" not in page
    assert rest.count("<script") == rest.count("</script>") == 2
    assert page.count("Plotly.newPlot") == 1


def test_every_variant_and_headline_figure_is_on_the_page(results):
    page = _without_plotly(render_comparison_html(results))
    head = page[page.index('<section id="headline"'):page.index('<section id="notes"')]
    for label in _labels(results):
        assert label in head
    positions = [page.index(f'<section id="{sid}"') for sid in
                 ("headline", "notes", "availability", "downtime", "workloads", "advisories")]
    assert positions == sorted(positions)
    for text in ("API availability", "etcd quorum availability", "exact", "API downtime per year",
                 "leader elections per year", "write commit latency", "hottest node", "time above the limit",
                 "pending pod-hours per year", "advisories", "single-member", "even-etcd-size", "nines",
                 "three-dc", "One region, three datacenters", "How to read this", "comparison.json"):
        assert text in page, text
    r3 = results[1]["control_plane"]
    assert format_availability(r3["availability"]["estimate"]) in head
    assert availability_supported(r3["availability"]["estimate"], r3["availability"]["ci95"])[1] in head
    assert format_availability(r3["quorum_availability"]["exact"]) in head


def test_tight_intervals_never_print_alike(results):
    cp = results[0]["control_plane"]
    cp["availability"].update(estimate=0.999721433, ci95=[0.999721403, 0.999721459], method="control-variate",
                              monte_carlo={"estimate": 0.999773876, "ci95": [0.999488249, 0.999889842]})
    cp["downtime_minutes_per_year"] = {"estimate": 146.415, "ci95": [146.401, 146.43]}
    page = _without_plotly(render_comparison_html(results))
    # the digits the interval supports (its half-width's first significant digit), ends distinct
    assert "99.972143%" in page and "[99.972140% – 99.972146%]" in page and "[146.40 – 146.43] min" in page
    assert "control-variate estimate" in page
    assert "simulation alone 99.977%" in json.dumps(_figures(page)[0]["data"][0]["hovertext"], ensure_ascii=False)
    text = _terminal(results)
    assert "[99.972140% – 99.972146%]" in text and "[146.40 – 146.43]" in text


def test_notes_share_streams_and_explain_even_sizes(results):
    page = render_comparison_html(results)
    assert CRN_NOTE in page
    assert "Why even sizes do not help" in page
    assert "4 members tolerate 1, 3 tolerate 1" in page
    other = copy.deepcopy(results[:2])
    other[1]["topology"]["name"] = "another"
    other[1]["topology"]["source"] = "another.yaml"
    page = render_comparison_html(other)
    assert CRN_NOTE in page
    assert "Why even sizes do not help" not in page
    assert "three-dc vs another" in page


def test_figures(results):
    figs = _figures(_without_plotly(render_comparison_html(results)))
    assert len(figs) == 4  # availability, downtime, commit, workloads
    labels = _labels(results)
    for fig in figs:
        for trace in fig["data"]:
            assert trace["x"] == labels
    avail = figs[0]["data"]
    assert [t["name"] for t in avail] == ["API availability (estimate, 95% interval)",
                                          "etcd quorum availability, exact"]
    err = avail[0]["error_y"]
    assert err["symmetric"] is False and len(err["array"]) == len(err["arrayminus"]) == 3
    assert all(v >= 0 and math.isfinite(v) for v in err["array"] + err["arrayminus"])
    exact = [r["control_plane"]["quorum_availability"]["exact"] for r in results]
    assert avail[1]["y"] == pytest.approx([-math.log10(1 - e) for e in exact])
    commit = figs[2]["data"]
    assert [t["name"] for t in commit] == ["p50", "p99"]


def test_downtime_error_bars_stay_on_a_log_axis(results):
    results[0]["control_plane"]["downtime_minutes_per_year"] = {"estimate": 500.0, "ci95": [200.0, 900.0]}
    results[1]["control_plane"]["downtime_minutes_per_year"] = {"estimate": 0.0, "ci95": [0.0, 800.0]}
    results[2]["control_plane"]["downtime_minutes_per_year"] = {"estimate": 0.02, "ci95": [0.0, 700.0]}
    page = _without_plotly(render_comparison_html(results))
    fig = _figures(page)[1]
    axis = fig["layout"]["yaxis"]
    assert axis["type"] == "log"
    bars, interval = fig["data"]
    assert bars["y"][1] is None  # a zero bar is not drawn on a log axis; it is labelled instead
    floor = 10 ** axis["range"][0]
    for top, minus in zip(interval["y"], interval["error_y"]["arrayminus"]):
        assert top - minus >= floor * 0.999  # never reaches zero or below
    assert any("none<br>observed" in a["text"] for a in fig["layout"]["annotations"])


def test_perfect_availability_reads_as_infinite_nines(results):
    for r in results:
        cp = r["control_plane"]
        cp["availability"] = {"estimate": 1.0, "ci95": [0.998, 1.0]}
        cp["quorum_availability"] = {"estimate": 1.0, "ci95": [0.998, 1.0], "exact": 1.0}
        cp["downtime_minutes_per_year"] = {"estimate": 0.0, "ci95": [0.0, 1000.0]}
    page = _without_plotly(render_comparison_html(results))
    assert "∞ nines" in page and "no downtime observed" in page
    assert "Infinity" not in page and "NaN" not in page
    fig = _figures(page)[0]
    ticks = fig["layout"]["yaxis"]["ticktext"]
    assert ticks[-1].startswith("∞")
    top = fig["layout"]["yaxis"]["tickvals"][-1]
    assert fig["data"][0]["y"] == [top] * 3
    assert all(math.isfinite(v) for v in fig["data"][0]["error_y"]["arrayminus"])
    down = _figures(page)[1]
    assert down["layout"]["yaxis"].get("type") != "log"
    text = _terminal(results)
    assert "∞ nines" in text and "0 min" in text


def test_names_are_escaped_everywhere(results):
    evil = copy.deepcopy(results)
    evil[0]["variant"] = EVIL
    for r in evil:
        r["topology"]["name"] = EVIL
        r["topology"]["description"] = EVIL + ' & "quotes"'
        r["topology"]["source"] = EVIL
        r["workloads"].append(copy.deepcopy(r["workloads"][0]))  # two workloads: grouped markers
        r["workloads"][0]["name"] = EVIL
        r["workloads"][0]["kind"] = EVIL
        r["advisories"].append({"code": EVIL, "message": EVIL, "severity": EVIL})
    page = _without_plotly(render_comparison_html(evil))
    assert EVIL not in page
    assert "alert(1)</" not in page
    assert page.count("<script") == 2
    assert EVIL_ESCAPED in page
    figs = _figures(page)
    assert all(EVIL not in json.dumps(f) for f in figs)
    assert figs[0]["data"][0]["x"][0] == EVIL_ESCAPED
    assert figs[3]["data"][0]["name"] == EVIL_ESCAPED


def test_advisories_keep_each_variants_severity(results):
    """A code raised as info by one variant and as a warning by another is shown as each variant's run report
    shows it, not with the worst severity of all variants."""
    code = "shared-blast-radius"
    for r in results:
        r["advisories"] = [a for a in r["advisories"] if a["code"] != code]
    results[0]["advisories"].append({"code": code, "message": "members share a server", "severity": "info"})
    results[2]["advisories"].append({"code": code, "message": "one rack holds a quorum", "severity": "warning"})
    results[2]["advisories"].append({"code": code, "message": "members share a server", "severity": "info"})
    page = _without_plotly(render_comparison_html(results))
    section = page[page.index('<section id="advisories"'):page.index("<details>")]
    row = re.search(rf'<tr><th class="metric"><code>{code}</code>(.*?)</tr>', section, re.S).group(1)
    assert "<small>warning / info</small>" in row
    cells = re.findall(r'<td class="num[^"]*">(.*?)</td>', row, re.S)
    assert len(cells) == 3
    assert "b-info" in cells[0] and "b-warn" not in cells[0] and 'title="info"' in cells[0]
    assert cells[1] == "—"
    assert "b-warn" in cells[2] and "b-info" in cells[2] and "×1" in cells[2]
    # the first variant's own run report calls it info too
    report = _without_plotly(render_html(results[0]))
    assert re.search(r'<li class="info"><span class="badge b-info">INFO</span><span>members share a server', report)
    # and so do its headline chip and its list of messages on the comparison page
    head = page[page.index('<section id="headline"'):page.index('<section id="notes"')]
    assert f'<span class="badge b-info" title="info">{code}</span>' in head
    details = page[page.index("<details>"):page.index("</details>")]
    first = details[:details.index("<h3>", details.index("<h3>") + 1)]
    assert '<li class="info"><span class="badge b-info">INFO</span><span>members share a server' in first


def test_one_to_seven_variants(results):
    for n in range(1, 8):
        docs = []
        for i in range(n):
            doc = copy.deepcopy(results[i % len(results)])
            doc["variant"] = f"v{i}"
            docs.append(doc)
        page = _without_plotly(render_comparison_html(docs))
        figs = _figures(page)
        assert figs[0]["data"][0]["x"] == [f"v{i}" for i in range(n)]
        assert f"max-width:{220 + 190 * n}px" in page
        text = _terminal(docs, width=80)
        assert all(f"v{i}" in text for i in range(n))


def test_duplicate_labels_stay_apart(results):
    for r in results:
        r["variant"] = "same"
    figs = _figures(_without_plotly(render_comparison_html(results)))
    assert len(set(figs[0]["data"][0]["x"])) == 3


def test_partial_is_prominent(results):
    results[1]["run"]["partial"] = True
    page = _without_plotly(render_comparison_html(results))
    assert "PARTIAL RUN" in page and page.index("PARTIAL RUN") < page.index('<section id="headline"')
    assert "PARTIAL RUN" in _terminal(results)


def _paths(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(d, list) and d and len(prefix) < 4:
        yield from _paths(d[0], prefix + (0,))


ODD = [None, "deleted", [], {}, "x", float("nan"), float("inf")]


def test_missing_or_odd_fields_do_not_crash():
    """Every field of a two-variant comparison in turn deleted or replaced by an odd value."""
    sample = json.loads(SAMPLE.read_text())
    sample.pop("domains", None)
    sample["topology"].pop("tree", None)
    base = [dict(copy.deepcopy(sample), variant="a"), dict(copy.deepcopy(sample), variant="b")]
    base[1]["control_plane"]["availability"] = {"estimate": 1.0, "ci95": [0.99, 1.0]}
    for empty in ([], [{}], [{"variant": "x"}, {}], [{}, "junk", None]):
        render_comparison_html(empty)  # type: ignore[arg-type]
        _terminal(empty, path=None)  # type: ignore[arg-type]
    for i, path in enumerate(list(_paths(base[0]))):
        replacement = ODD[i % len(ODD)]
        docs = copy.deepcopy(base)
        parent = docs[0]
        for key in path[:-1]:
            parent = parent[key]
        if replacement == "deleted":
            if isinstance(parent, dict):
                del parent[path[-1]]
        else:
            parent[path[-1]] = replacement
        render_comparison_html(docs)
        _terminal(docs, path=None)


# ------------------------------------------------------------------ the terminal


@pytest.mark.parametrize("width", [80, 120, 200])
def test_terminal_table(results, width):
    text = _terminal(results, width=width)
    for label in _labels(results):
        assert label in text
    for needle in ("three-dc", "etcd sizes", "API availability", "quorum", "downtime", "elections", "commit",
                   "hottest", "pending", "nines", "single-member", "even-etcd-size",
                   "Report: reports/x-compare/index.html"):
        assert needle in text, needle
    assert "Variants share random streams" in text
    assert text.index("API availability") < text.index("Advisories") < text.index("Report:")
    assert max(len(line) for line in text.splitlines()) <= width
    for line in text.splitlines():  # an interval never breaks inside its brackets, nor loses its unit
        assert line.count("[") == line.count("]"), line
        assert not re.search(r"[\d.]+ – [\d.]+\](?! min)(?!%)", line) or "%" in line, line
    for header in ("pod-h/year", "per year", "p50 / p99"):
        assert header in text, header  # headers whole, not folded


def test_terminal_does_not_interpret_markup(results):
    results[0]["variant"] = "[bold red]x[/]"
    results[0]["advisories"].append({"code": "[link=file:///etc]y[/link]", "message": "m", "severity": "info"})
    text = _terminal(results)
    assert "[bold red]x[/]" in text
    assert "[link=file:///etc]y[/link]" in text


def test_a_comparison_of_many_workloads_draws_the_least_available(results):
    """150 workloads would be 150 series: the figure draws the 8 least available (in any
    variant) and says so; the table keeps every workload."""
    for k, r in enumerate(results):
        base = r["workloads"][0]
        r["workloads"] = [{**copy.deepcopy(base), "name": f"app-{i}",
                           "availability": {"estimate": 1 - 1e-4 * (i + k), "ci95": [1 - 2e-4 * (i + k), 1.0]}}
                          for i in range(1, 31)]
    page = _without_plotly(render_comparison_html(results))
    series = [t["name"] for t in _figures(page)[3]["data"]]
    assert series == [f"app-{i}" for i in range(23, 31)]
    assert "the 8 least available of 30 workloads" in page
    assert all(f">app-{i}<" in page for i in range(1, 31))
