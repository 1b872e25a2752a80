"""The HTML report and the terminal summary, rendered from tests/data/sample_results.json."""

from __future__ import annotations

import copy
import io
import json
import math
import re
from pathlib import Path

import pytest
from rich.console import Console

from kchaos.report import format_availability, nines, print_summary, render_html
from kchaos.report.html import plotly_bundle

SAMPLE = Path(__file__).parent / "data" / "sample_results.json"
EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SECTION_IDS = ["headline", "slo", "advisories", "topology", "blast-radius", "distributions", "load", "commit",
               "convergence"]


@pytest.fixture()
def sample() -> dict:
    return json.loads(SAMPLE.read_text())


def _without_plotly(page: str) -> str:
    js = plotly_bundle()
    assert page.count(js) == 1
    return page.replace(js, "")


def _summary(results: dict, report_path: str | None = "reports/x/index.html") -> str:
    console = Console(file=io.StringIO(), record=True, width=120, color_system=None)
    print_summary(results, console, report_path)
    return console.export_text()


# ------------------------------------------------------------------ helpers


def test_nines():
    assert nines(0.999) == pytest.approx(3.0)
    assert nines(0.999994) == pytest.approx(5.22, abs=0.01)
    assert math.isinf(nines(1.0))
    assert nines(0.0) == 0.0


def test_format_availability_keeps_enough_digits():
    assert format_availability(0.999994) == "99.9994%"
    assert format_availability(0.99999) != format_availability(0.999999)
    assert format_availability(0.99999) == "99.999%"
    assert format_availability(0.999999) == "99.9999%"
    assert format_availability(0.9999825) in ("99.9982%", "99.9983%")
    assert format_availability(1.0) == "100%"
    assert format_availability(None) == "n/a"
    assert not format_availability(1 - 1e-15).startswith("100")  # never rounds up to perfect


def test_an_availability_whose_interval_is_wider_than_ten_percent_is_shown_without_decimals():
    """A workload down all the time (estimate 0) with an interval wider than 10% supports no
    decimal: its estimate is shown as 0%, not a crash on a negative precision."""
    from kchaos.report.formatting import availability_supported

    estimate, interval = availability_supported(0.0, [0.0, 0.3])
    assert estimate == "0%" and interval.startswith("[") and "%" in interval
    assert format_availability(0.0, -2) == "0%"


# ---------------------------------------------------------------- the sample


def test_sample_is_consistent(sample):
    cp = sample["control_plane"]
    a = cp["availability"]
    lo, hi = a["ci95"]
    assert lo <= a["estimate"] <= hi
    assert a["estimate"] <= cp["quorum_availability"]["estimate"]
    q = cp["quorum_availability"]
    assert q["ci95"][0] <= q["exact"] <= q["ci95"][1]
    assert cp["downtime_minutes_per_year"]["estimate"] == pytest.approx((1 - a["estimate"]) * 525600, rel=1e-3)
    le = cp["leader_elections"]
    assert sum(le["histogram"]["counts"]) == le["count"]
    assert len(le["histogram"]["edges"]) == len(le["histogram"]["counts"]) + 1
    ids = {t["id"] for t in sample["topology"]["tree"]}
    assert all(t["parent"] in ids or t["parent"] == "" for t in sample["topology"]["tree"])
    assert sample["convergence"]["unavailability"][-1] == pytest.approx(1 - a["estimate"], rel=1e-3)


def test_render_is_self_contained(sample):
    page = render_html(sample)
    assert page.startswith("<!DOCTYPE html>")
    rest = _without_plotly(page)  # plotly.js inlined exactly once
    assert "plotly.js v" not in rest
    assert not re.search(r"<script[^>]*\bsrc=", page, re.I)
    assert not re.search(r"<link\b", rest, re.I)
    assert "@import" not in rest and "url(" not in rest
    assert "http://" not in rest and "https://" not in rest
    assert "cdn" not in rest.lower()
    assert "cdn.plot.ly" not in page
    # two scripts in all: plotly.js, and the figures drawn in one place
    assert rest.count("<script") == rest.count("</script>") == 2
    assert "<script></script>" in rest
    assert page.count("Plotly.newPlot") == 1


def test_all_sections_present_in_order(sample):
    page = _without_plotly(render_html(sample))
    positions = [page.index(f'<section id="{sid}"') for sid in SECTION_IDS]
    assert positions == sorted(positions)
    assert page.index("<header") < positions[0]
    assert positions[-1] < page.index("<footer")
    for text in ("korea-stretched", "Control plane stretched over Korea Central and Korea South",
                 "99.9983%", "4.8 nines", "exact (closed form)", "99.9986%", "95% interval [1 – 25] min", "671", "3.23 ms", "9.4 ms",
                 "no downtime observed", "quorum-in-one-region", "TARGET MISSED", "PASS, NOT YET CONFIRMED",
                 "52,000", "How to read this", "kchaos 0.1.0", "korea-central › kc-1 › kc-1-r1 › kc-1-r1-s1"):
        assert text in page, text


def test_figures_are_valid_json(sample):
    page = _without_plotly(render_html(sample))
    payload = re.search(r"var figs=(\[.*?\]);var cfg", page, re.S).group(1)
    figs = json.loads(payload)
    ids = re.findall(r'<div class="plot" id="([^"]+)"', page)
    assert [f["id"] for f in figs] == ids
    # topology sunburst, elections, 3 workloads, hottest node, commit, convergence
    assert len(figs) == 8
    sunburst = figs[0]["data"][0]
    assert sunburst["type"] == "sunburst"
    assert "cp-1" in sunburst["labels"]


def test_user_strings_are_escaped_everywhere(sample):
    evil = copy.deepcopy(sample)
    evil["topology"]["name"] = EVIL
    evil["topology"]["description"] = EVIL + ' & "quotes"'
    evil["topology"]["source"] = EVIL
    for node in evil["topology"]["tree"]:
        if node["id"] == "node/cp-1":
            node["name"] = EVIL
        if node["id"] == "region/korea-south":
            node["name"] = EVIL
    evil["workloads"][0]["name"] = EVIL
    evil["workloads"][0]["kind"] = EVIL
    evil["domains"][0]["id"] = "region/" + EVIL
    evil["domains"][0]["workloads_unavailable"] = [EVIL]
    evil["advisories"][0]["message"] = EVIL
    evil["advisories"][0]["code"] = EVIL
    evil["slo"]["checks"][0]["name"] = EVIL
    page = _without_plotly(render_html(evil))
    assert EVIL not in page
    assert "alert(1)</" not in page
    assert page.count("<script") == 2  # plotly.js and the figures, nothing injected
    assert EVIL_ESCAPED in page
    # inside the figure JSON the escaped label survives (plotly decodes the entities for display)
    payload = json.loads(re.search(r"var figs=(\[.*?\]);var cfg", page, re.S).group(1))
    labels = payload[0]["data"][0]["labels"]
    assert EVIL_ESCAPED in labels
    assert all(EVIL not in str(f) for f in payload)


def test_partial_run_is_prominent(sample):
    sample["run"]["partial"] = True
    page = _without_plotly(render_html(sample))
    assert "PARTIAL RUN" in page
    assert page.index("PARTIAL RUN") < page.index('<section id="headline"')
    assert "PARTIAL RUN" in _summary(sample)


def test_blast_radius_sorted_and_capped(sample):
    many = [{"id": f"node/n-{i:03d}", "kind": "node", "failures": i, "quorum_lost": False, "members_lost": 0,
             "nodes_lost": 1, "pods_displaced": i, "pods_pending": 0} for i in range(1, 71)]
    many.append({"id": "datacenter/dc-x", "kind": "datacenter", "quorum_lost": True, "pods_displaced": 0})
    sample["domains"] = many
    page = _without_plotly(render_html(sample))
    table = page[page.index('<section id="blast-radius"'):page.index('<section id="distributions"')]
    assert table.count("<tr") == 1 + 50
    assert "21 more domains" in table
    assert table.index("dc-x") < table.index("n-070") < table.index("n-069")  # quorum loss first, then pods


def test_blast_radius_groups_identical_domains_and_collapses_harmless_ones(sample):
    """47 empty servers and 6 identical racks: one sentence and one row, not 53 rows (issue 10)."""
    empty = [{"id": f"server/s-{i}", "kind": "server", "failures": 2, "quorum_lost": False, "members_lost": 0,
              "nodes_lost": 0, "pods_displaced": 0, "pods_pending": 0} for i in range(47)]
    racks = [{"id": f"rack/r-{i}", "kind": "rack", "failures": 1, "quorum_lost": False, "members_lost": 0,
              "nodes_lost": 2, "pods_displaced": 8, "pods_pending": 0, "max_node_utilization": 0.5}
             for i in range(6)]
    odd = {**racks[0], "id": "rack/r-odd", "pods_displaced": 9}
    sample["domains"] = empty + racks + [odd]
    page = _without_plotly(render_html(sample))
    table = page[page.index('<section id="blast-radius"'):page.index('<section id="distributions"')]
    assert table.count("<tr") == 1 + 2
    assert "6 racks" in table and "r-0, r-1, r-2, r-3, … (2 more)" in table
    assert "r-odd" in table and table.index("r-odd") < table.index("6 racks")  # more pods displaced first
    assert "Cost nothing on their own" in table and "47 servers" in table and "s-3" not in table
    row = table[table.index("6 racks"):]
    assert "6 in the run" in row  # failures of the six together (plain sampling: the draws are natural)


def test_minimal_document_renders():
    for doc in ({}, {"schema": "kchaos.results/v1"}, {"topology": {"name": "tiny"}, "run": {}, "control_plane": {}}):
        page = render_html(doc)
        rest = _without_plotly(page)
        for sid in SECTION_IDS[:1] + SECTION_IDS[2:]:  # the SLO section only appears with an slo block
            assert f'<section id="{sid}"' in rest
        assert "n/a" in rest
        _summary(doc, None)


def test_spec_example_and_empty_fields(sample):
    """The spec's required-keys example plus empty histograms, no elections, perfect availability."""
    doc = {
        "schema": "kchaos.results/v1", "kchaos_version": "0.1.0",
        "topology": {"name": "one-box", "sha256": "abc"},
        "run": {"failures_injected": 10, "simulated_hours": 100.0, "seed": 1, "wall_seconds": 0.1, "partial": False},
        "control_plane": {
            "members": 1, "quorum": 1, "tolerates": 0,
            "availability": {"estimate": 1.0, "ci95": [0.99, 1.0]},
            "quorum_availability": {"estimate": 1.0, "ci95": [0.99, 1.0], "exact": 0.9999},
            "downtime_minutes_per_year": {"estimate": 0.0, "ci95": [0.0, 5000.0]},
            "leader_elections": {"count": 0, "mean_ms": None, "p50_ms": None, "p99_ms": None,
                                 "histogram": {"edges": [], "counts": []}},
            "write_commit_ms": {"p50": 1.0, "p99": 1.0, "histogram": {"edges": [0, 1, 2], "counts": [0, 0]}},
        },
        "workloads": [{"name": "web", "kind": "Deployment", "availability": {"estimate": 1.0, "ci95": [0.99, 1.0]},
                       "recovery_seconds": {"mean": None, "p99": None, "count": 0,
                                            "histogram": {"edges": [0], "counts": []}}}],
        "load": {"max_node_utilization": {"p50": 0.71, "p95": 0.93, "max": 1.0, "histogram": None},
                 "time_above_limit": 0.0, "pending_pods": {"max": 0, "pod_hours": 0}},
        "domains": [{"id": "datacenter/kc-1", "kind": "datacenter", "failures": 3, "quorum_lost": True,
                     "pods_displaced": 24, "max_node_utilization": 0.97}],
        "convergence": {"failures": [1, 2], "unavailability": [0, 0], "ci_low": [0, 0], "ci_high": [0, 0]},
        "advisories": [],
        "slo": {"passed": True, "checks": [{"name": "controlPlane", "target": 0.9999, "estimate": 1.0,
                                            "ci95": [0.99, 1.0], "passed": True}]},
    }
    page = _without_plotly(render_html(doc))
    assert "no downtime observed" in page
    assert "No leader elections happened" in page
    assert "No recoveries recorded" in page
    assert "No advisories" in page
    assert "ALL TARGETS MET" in page
    text = _summary(doc)
    assert "no downtime observed" in text


def test_terminal_summary_has_the_key_numbers(sample):
    text = _summary(sample, "reports/korea-stretched/index.html")
    # The estimates carry the digits their (wide) intervals support: 99.998%, not 99.9983%.
    for needle in ("korea-stretched", "API availability", "99.998%", "4.8 nines", "[99.9952% – 99.99981%]",
                   "99.9986%", "exact", "simulated 99.998%", "9 min/year  [1 – 25]", "671", "1,292 ms", "1,789 ms", "p50 3.23 ms", "p99 9.4 ms",
                   "web", "db", "log-agent", "no downtime observed", "p95 76%", "max 96%", "0.021%",
                   "272 pod-hours", "quorum-in-one-region", "spread-pending",
                   "Report: reports/korea-stretched/index.html"):
        assert needle in text, needle
    assert text.index("API availability") < text.index("Advisories") < text.index("Report:")


def test_terminal_summary_does_not_interpret_markup(sample):
    sample["topology"]["name"] = "[bold red]x[/]"
    sample["advisories"][0]["message"] = "[link=file:///etc]y[/link]"
    text = _summary(sample)
    assert "[bold red]x[/]" in text
    assert "[link=file:///etc]y[/link]" in text


def _paths(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(d, list) and d and len(prefix) < 4:
        yield from _paths(d[0], prefix + (0,))


ODD = [None, "deleted", [], {}, "x", float("nan"), float("inf")]


def test_any_field_missing_or_odd_does_not_crash(sample):
    """Every field of the sample in turn is deleted or replaced by an odd value (cycling through ODD)."""
    console = Console(file=io.StringIO(), record=True, width=100, color_system=None)
    paths = [p for p in _paths(sample) if not (p[:2] == ("topology", "tree") and len(p) > 3)]
    for i, path in enumerate(paths):
        replacement = ODD[i % len(ODD)]
        doc = copy.deepcopy(sample)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if replacement == "deleted":
            if isinstance(parent, dict):
                del parent[path[-1]]
        else:
            parent[path[-1]] = replacement
        render_html(doc)
        print_summary(doc, console, None)


def test_cards_give_rates_per_year_with_the_runs_count(sample):
    page = " ".join(re.sub(r"<[^>]+>", " ", _without_plotly(render_html(sample))).split())
    elections = sample["control_plane"]["leader_elections"]["count"]
    assert "Leader elections per year" in page and f"{elections:,} in the run" in page
    assert "Pending pod-hours per year" in page and "pending at once" in page
    # importance-sampled: natural rates only, a figure as drawn says so
    sample["run"]["sampling"] = {"method": "importance"}
    page = " ".join(re.sub(r"<[^>]+>", " ", _without_plotly(render_html(sample))).split())
    assert f"{elections:,} in the run" not in page and "(as drawn under biased sampling)" in page


def test_advisories_of_one_code_beyond_three_fold_into_details(sample):
    sample["advisories"] = [{"code": "spread-blocks-rescheduling", "severity": "warning",
                             "message": f"workload w{i} stays Pending"} for i in range(10)] + \
        [{"code": "fix-first", "severity": "info", "message": "harden dc-a"}]
    page = _without_plotly(render_html(sample))
    section = page[page.index('<section id="advisories"'):page.index('<section id="downtime"')]
    folded = section[section.index("<details>"):]
    assert section.count("stays Pending") == 10 and folded.count("stays Pending") == 7
    assert "7 more <code>spread-blocks-rescheduling</code>" in section and "harden dc-a" not in folded


def test_results_json_writes_what_json_lacks_as_null_and_any_key_as_a_string():
    """results.json is written with orjson: NaN and infinity (numpy's too) become null, numpy
    scalars their values, tuples arrays, and a key that is not a string a string, as the
    standard library would, so no document is lost after a long run for its keys' types."""
    import json

    import numpy as np

    from kchaos.report.files import to_json
    text = to_json({"nan": float("nan"), "inf": np.float64("inf"), "f32": np.float32(0.5), "i": np.int64(3),
                    "pair": (1, 2), 7: "seven", "nested": [{"x": -float("inf")}]})
    assert json.loads(text) == {"nan": None, "inf": None, "f32": 0.5, "i": 3, "pair": [1, 2], "7": "seven",
                                "nested": [{"x": None}]}
    assert text.endswith("}\n") and "\n  \"nan\": null" in text


def test_a_cluster_of_many_workloads_shows_the_worst_and_tables_the_rest(sample):
    """150 workloads would be 150 cards, 151 bars and tables: the page shows the 8 with the most
    downtime as cards and all of them in one table (worst first), and draws and tables the
    causes of the API and the 15 workloads with the most downtime (issue 7: Kubernetes' limits)."""
    base = sample["workloads"][0]
    sample["workloads"] = [{**copy.deepcopy(base), "name": f"app-{i}",
                            "downtime_minutes_per_year": {"estimate": float(i), "ci95": [0.0, 2.0 * i]}}
                           for i in range(1, 41)]
    causes = lambda i: [{"cause": "recovery chain", "minutes_per_year": float(i), "ci95": [0.0, 2.0 * i]}]  # noqa: E731
    sample["attribution"] = {"api": causes(1), "workloads": {f"app-{i}": causes(i) for i in range(1, 41)}}
    page = _without_plotly(render_html(sample))
    head = page[page.index('<section id="headline"'):page.index('<section id="slo"')]
    cards = head[:head.index("<details>")]
    assert "the 8 with the most downtime, of 40" in cards
    assert "app-40" in cards and "app-33" in cards and "app-32" not in cards
    table = head[head.index("<details>"):]
    assert table.count("<tr>") == 1 + 40 and table.index("app-40") < table.index("app-39") < table.index("app-1<")
    downtime = page[page.index('<section id="downtime"'):page.index('<section id="fix-first"')]
    assert "workload app-26" in downtime and "workload app-25" not in downtime
    assert "25 more with downtime are in results.json" in downtime
    assert downtime.count('<div class="subhead">') == 1 + 15  # the API's table and 15 workloads'


def test_the_terminal_summary_of_many_workloads_shows_the_worst_and_counts_the_rest(sample):
    base = sample["workloads"][0]
    sample["workloads"] = [{**copy.deepcopy(base), "name": f"app-{i}",
                            "downtime_minutes_per_year": {"estimate": float(i), "ci95": [0.0, 2.0 * i]}}
                           for i in range(1, 41)]
    text = _summary(sample)
    assert "workload app-40" in text and "workload app-33" in text and "workload app-32 " not in text
    assert "32 more workloads" in text


def test_preparing_the_report_ahead_changes_nothing_in_it():
    """The CLI readies the report while the histories run (templates compiled, plotly's classes
    imported): the page is byte for byte the one a cold process renders. Two fresh processes,
    since both caches live for the process."""
    import subprocess
    import sys
    code = ("import sys; from pathlib import Path; import json; from kchaos.report.html import render_html\n"
            "from kchaos.report.page import prepare_page\n"
            f"doc = json.loads(Path({str(SAMPLE)!r}).read_text())\n"
            "if sys.argv[1] == 'ahead': prepare_page()\n"
            "sys.stdout.write(render_html(doc))\n")
    cold, ahead = (subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, check=True).stdout
                   for how in ("cold", "ahead"))
    assert cold == ahead and cold.rstrip().endswith("</html>")
