"""The user documentation (README.md, docs/*.md) stays true to the repository and the code.

(a) Every Markdown link and every backticked repository path resolves to a file in the
    repository, and nothing points outside it (``../`` above the root, absolute paths, other
    URL schemes); http(s) links are allowed. Links to ``page.md#anchor`` must name a heading.
(b) Every key the topology schema accepts is documented in docs/topology.md, every value a
    choice key accepts too, and every key the reference tables document is accepted.
(c) Every example in topologies/ is mentioned; docs/topology.md's complete example is
    topologies/korea-stretched.yaml as it is; every complete YAML example in the page loads.

How (b) finds the keys: they are declared once, in kchaos/topology/definitions.py, which both
the validator and ``kchaos schema`` read; a test below checks that the validator checks exactly
the declared mappings while loading topologies that exercise every section (``EXERCISE``).
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from pathlib import Path

import pytest

import kchaos.topology
from kchaos.topology import load_topology, load_topology_text
from kchaos.topology import definitions
from kchaos.topology.checker import Checker

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
TOPOLOGY_DOC = ROOT / "docs" / "topology.md"
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))
COMPLETE_EXAMPLE = ROOT / "topologies" / "korea-stretched.yaml"

#: Top-level directories of the repository's sources: a backticked path starting with one of
#: them names a file that must exist (``reports/``, ``build/`` hold generated output).
SOURCE_DIRS = ("docs", "topologies", "examples", "benchmarks", "kchaos", "tests", ".ci")

TOPOLOGY_PKG = Path(kchaos.topology.__file__).resolve().parent
CHECKER_FILE = Path(sys.modules[Checker.__module__].__file__).resolve()


# -- Markdown helpers -------------------------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~)")


def strip_fences(text: str) -> str:
    """The text with fenced code blocks blanked out (line numbers are kept)."""
    out, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            out.append("")
            continue
        out.append("" if fenced else line)
    return "\n".join(out)


def fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def inline_code(text: str) -> list[tuple[int, str]]:
    """(line number, content) of every inline code span outside fenced blocks."""
    spans = []
    for number, line in enumerate(strip_fences(text).splitlines(), 1):
        spans += [(number, m.group(2)) for m in re.finditer(r"(`+)([^`]+?)\1(?!`)", line)]
    return spans


_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every inline link, image and reference definition."""
    found = []
    for number, line in enumerate(strip_fences(text).splitlines(), 1):
        line = re.sub(r"(`+)[^`]+?\1", "", line)  # code spans hold no links
        found += [(number, m.group(1)) for m in _LINK.finditer(line)]
        found += [(number, m.group(1)) for m in _REFERENCE.finditer(line)]
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # [text](link) -> text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in strip_fences(text).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def link_problems(page: Path, root: Path = ROOT) -> list[str]:
    """Every link of ``page`` that does not resolve to a file (and heading) inside ``root``."""
    text = page.read_text(encoding="utf-8")
    problems = []
    for line, target in links(text):
        where = f"{page.name}:{line}: ({target})"
        if re.match(r"https?://", target):
            continue
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target):
            problems.append(f"{where} only http(s) links may leave the repository")
            continue
        if target.startswith("/"):
            problems.append(f"{where} absolute path: link relative to the page")
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page.resolve()
        if not inside(resolved, root):
            problems.append(f"{where} leaves the repository")
        elif not resolved.exists():
            problems.append(f"{where} no such file: {resolved.relative_to(root.resolve())}")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{where} no heading #{anchor} in {resolved.name}")
    return problems


def looks_like_path(span: str) -> bool:
    """A backticked repository path such as ``docs/model.md`` or ``topologies/*.yaml``.

    Ids such as ``region/NAME`` or ``kchaos/v1alpha1`` are not paths: a span counts when it
    starts with ``../`` or ``/``, or with a source directory (under ``kchaos/`` only names
    with an extension or a trailing ``/``)."""
    if any(ch.isspace() for ch in span) or "/" not in span or "://" in span:
        return False
    if span.startswith("../") or (span.startswith("/") and len(span) > 1):
        return True
    first = span.split("/", 1)[0]
    if first not in SOURCE_DIRS:
        return False
    last = span.rstrip("/").rsplit("/", 1)[-1]
    return span.endswith("/") or "*" in span or "." in last or first != "kchaos"


def path_problems(page: Path, root: Path = ROOT) -> list[str]:
    """Backticked paths of ``page`` (relative to the repository root) that do not exist."""
    problems = []
    for line, span in inline_code(page.read_text(encoding="utf-8")):
        if not looks_like_path(span):
            continue
        where = f"{page.name}:{line}: `{span}`"
        if span.startswith(("../", "/")):
            problems.append(f"{where} points outside the repository")
            continue
        path = span.split("#", 1)[0]
        if not inside(root / path, root):
            problems.append(f"{where} points outside the repository")
        elif "*" in path:
            if not list(root.glob(path)):
                problems.append(f"{where} matches no file")
        elif not (root / path).exists():
            problems.append(f"{where} no such file or directory")
    return problems


# -- (a) links and paths ----------------------------------------------------------------------

def test_the_documentation_pages_exist():
    assert {p.name for p in DOCS} >= {"topology.md", "model.md", "results.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves_inside_the_repository(page):
    problems = link_problems(page)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_backticked_path_exists(page):
    problems = path_problems(page)
    assert not problems, "\n".join(problems)


def test_the_checks_catch_broken_links_and_paths(tmp_path):
    """The checkers above can fail: each kind of mistake is reported."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "topologies").mkdir()
    (tmp_path / "topologies" / "real.yaml").write_text("x: 1\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(textwrap.dedent("""\
        # Title

        [ok](../topologies/real.yaml) [ok](#title) [ok](https://example.org/x)
        [gone](missing.md) [out](../../shared/spec/model.md) [abs](/etc/passwd)
        [scheme](file:///etc/passwd) [anchor](page.md#no-such-heading)
        `topologies/real.yaml` `topologies/*.yaml` `region/NAME` `kchaos/v1alpha1`
        `../shared/spec/topology.md` `docs/nothing.md` `topologies/*.json`

        ```
        [in a code block](nowhere.md) `docs/also-nowhere.md`
        ```
        """))
    found = "\n".join(link_problems(page, tmp_path) + path_problems(page, tmp_path))
    for needle in ("(missing.md) no such file", "(../../shared/spec/model.md) leaves the repository",
                   "(/etc/passwd) absolute path", "(file:///etc/passwd) only http(s)",
                   "no heading #no-such-heading", "`../shared/spec/topology.md` points outside",
                   "`docs/nothing.md` no such file", "`topologies/*.json` matches no file"):
        assert needle in found, f"not reported: {needle}\n{found}"
    for fine in ("real.yaml", "#title", "example.org", "region/NAME", "v1alpha1", "nowhere"):
        assert fine not in found, found


def test_slug_follows_github():
    assert slug("## `regions`, datacenters, racks and servers".lstrip("# ")) == \
        "regions-datacenters-racks-and-servers"
    assert slug("`whatif --json`") == "whatif---json"
    assert slug("Gating (`check`)") == "gating-check"
    assert slug("Examples (`topologies/`)") == "examples-topologies"


# -- (b) every schema key documented ----------------------------------------------------------

#: Topologies that, together with topologies/*.yaml, reach every mapping the schema reads:
#: external etcd with apiServers as a mapping, placements by domain and by list, the full
#: spread form, and every distribution form.
EXERCISE = ["""\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: exercise, description: every section}
regions:
  - name: r1
    datacenters:
      - name: d1
        racks:
          - {name: rk1, servers: [s1, s2]}
          - {name: rk2, servers: 2}
      - {name: d2, racks: 2, serversPerRack: 2}
  - name: r2
    datacenters:
      - {name: d3, racks: 1, serversPerRack: 2}
network:
  rtt: {sameServer: 50us, sameRack: 100us, sameDatacenter: 500us, sameRegion: 2ms}
  regions:
    - {between: [r1, r2], rtt: 5ms}
controlPlane:
  members: 3
  etcdTopology: external
  etcdPlacement: [s1, d2-r1-s1, d3-r1-s1]
  apiServers: {count: 2, placement: {region: r1}}
  capacity: {cpu: 8, memory: 32Gi, pods: 110}
  etcd: {heartbeatInterval: 100ms, electionTimeout: 1s, preVote: false, fsync: 1ms}
  leaderElection: {leaseDuration: 15s, renewDeadline: 10s, retryPeriod: 2s}
workers:
  - {pool: app, count: 3, placement: {datacenter: d2}, capacity: {cpu: 16, memory: 64Gi}}
  - {pool: edge, count: 1, placement: [s2], capacity: {cpu: 4, memory: 8Gi, pods: 50},
     nodes: [{name: ip-10-0-0-7.ec2.internal, providerID: "aws:///eu-west-1a/i-0a1b", address: 10.0.0.7,
              ready: true, schedulable: false}]}
  - {pool: burst, count: 1, capacity: {cpu: 4, memory: 8Gi}, nodes: [burst-a],
     autoscale: {min: 1, max: 3, provisionDelay: 3m, scaleDownAfter: 10m}}
workloads:
  - name: api
    kind: Deployment
    replicas: 3
    requests: {cpu: 1, memory: 1Gi}
    minAvailable: 50%
    spread: {over: rack, maxSkew: 2, whenUnsatisfiable: ScheduleAnyway, nodeTaintsPolicy: Honor}
    strategy: {maxSurge: 1, maxUnavailable: "0%"}
    namespace: shop
    antiAffinity: [{over: host}, {over: datacenter, workloads: [db], required: false, weight: 20}]
    affinity: [{over: region, workloads: [db], weight: 10}]
  - {name: db, kind: StatefulSet, replicas: 2, minAvailable: 1, spreadOver: server, volumeScope: rack}
  - {name: agent, kind: DaemonSet, minAvailable: 1}
failures:
  node: none
  server: {mtbf: 2y, mttr: 6h, ttf: {weibull: {shape: 1.3}}, ttr: {lognormal: {sigma: 1.0}}}
  rack: {ttf: exponential, ttr: fixed}
kubernetes: {nodeMonitorGracePeriod: 40s, notReadyToleration: 60s, podStartup: 20s, rolloutInterval: none}
slo: {controlPlane: 99.9, workloads: {api: 99.5}, maxNodeUtilization: 85%, maxPendingPods: 0}
maintenance: {every: 30d, batch: rack, perNode: 10m, controlPlane: true}
"""]


@pytest.fixture(scope="module")
def accepted():
    """What the format accepts, from its declarations (kchaos/topology/definitions.py):
    {"keys": {key: {parent paths}}, "choices": {values}}."""
    keys: dict[str, set[str]] = {}
    choices: set[str] = set()
    for path, node in definitions.walk(definitions.TOPOLOGY):
        if isinstance(node, definitions.Obj):
            for key in node.keys:
                keys.setdefault(key, set()).add(path or "(top level)")
        elif isinstance(node, definitions.Scalar) and node.reader == "choice" and path not in ("apiVersion", "kind"):
            choices.update(node.options)  # the header's values are checked in test_topology_load
    return {"keys": keys, "choices": choices}


def test_the_validator_reads_exactly_the_declared_mappings():
    """Every mapping the validator checks has the keys of a declared ``Obj``, and every declared
    ``Obj`` is checked, while loading EXERCISE and topologies/*.yaml: the schema that
    ``kchaos schema`` prints from the declarations and the validator cannot drift apart."""
    declared = {node.keys: path for path, node in definitions.walk(definitions.TOPOLOGY)
                if isinstance(node, definitions.Obj)}
    seen: set[tuple[str, ...]] = set()
    mapping = Checker.mapping
    signature = inspect.signature(mapping)

    def spy(self, *args, **kwargs):
        seen.add(tuple(signature.bind(self, *args, **kwargs).arguments["keys"]))
        return mapping(self, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(Checker, "mapping", spy)
    try:
        for i, text in enumerate(EXERCISE):
            load_topology_text(text, filename=f"exercise-{i}.yaml")
        for path in EXAMPLES:
            load_topology(path)
    finally:
        mp.undo()
    # A mapping that is one of several declared alternatives ({weibull: ...} or {lognormal: ...}) is
    # checked against the union of their keys, so that a misspelling gets a 'did you mean'.
    unions = {tuple(k for o in node.options if isinstance(o, definitions.Obj) for k in o.keys):
              {o.keys for o in node.options if isinstance(o, definitions.Obj)}
              for _, node in definitions.walk(definitions.TOPOLOGY) if isinstance(node, definitions.AnyOf)}
    undeclared = seen - set(declared) - set(unions)
    covered = {keys for union, alternatives in unions.items() if union in seen for keys in alternatives}
    unread = [declared[keys] or "(top level)" for keys in set(declared) - seen - covered]
    assert not undeclared, f"the validator checks mappings with undeclared key sets: {undeclared}"
    assert not unread, f"declared mappings never read while loading EXERCISE (extend it): {unread}"


def documented_tokens(page: Path) -> set[str]:
    """Identifiers inside inline code spans (outside fenced examples) of ``page``."""
    tokens: set[str] = set()
    for _, span in inline_code(page.read_text(encoding="utf-8")):
        tokens.update(re.findall(r"[A-Za-z][A-Za-z0-9]*", span))
    return tokens


def undocumented(names, page: Path) -> list[str]:
    tokens = documented_tokens(page)
    return sorted(n for n in names if n not in tokens)


def test_every_schema_key_is_documented(accepted):
    keys = accepted["keys"]
    assert {"apiVersion", "regions", "controlPlane", "serversPerRack", "heartbeatInterval",
            "nodeTaintsPolicy", "rolloutInterval", "regionLink", "sigma"} <= set(keys)
    missing = undocumented(keys, TOPOLOGY_DOC)
    assert not missing, "keys accepted by the schema but not named in backticks in docs/topology.md:\n" + \
        "\n".join(f"{k} (under {', '.join(sorted(keys[k]))})" for k in missing)


def test_every_accepted_value_is_documented(accepted):
    choices = accepted["choices"]
    assert {"stacked", "external", "DaemonSet", "datacenter", "ScheduleAnyway", "Honor", "fixed"} <= choices
    missing = undocumented(choices, TOPOLOGY_DOC)
    assert not missing, f"values accepted by the schema but not in docs/topology.md: {missing}"


def key_table_words(page: Path) -> set[str]:
    """Key names in the first column of the tables whose header cell is ``key``
    (``regions[].name`` gives regions and name)."""
    words: set[str] = set()
    in_key_table = False
    for line in strip_fences(page.read_text(encoding="utf-8")).splitlines():
        if not line.lstrip().startswith("|"):
            in_key_table = False
            continue
        first = line.strip().strip("|").split("|")[0].strip()
        if first == "key":
            in_key_table = True
        elif in_key_table:
            for span in re.findall(r"`([^`]+)`", first):
                words.update(p for p in re.split(r"[.\[\]]+", span) if re.fullmatch(r"[A-Za-z]+", p))
    return words


def test_documented_keys_exist(accepted):
    """The reference tables of docs/topology.md name only keys the schema accepts."""
    words = key_table_words(TOPOLOGY_DOC)
    assert {"members", "serversPerRack", "nodeTaintsPolicy"} <= words
    wrong = sorted(words - set(accepted["keys"]))
    assert not wrong, f"docs/topology.md documents keys the schema does not accept: {wrong}"


def test_key_checks_can_fail(tmp_path):
    page = tmp_path / "topology.md"
    page.write_text("| key | meaning |\n|---|---|\n| `members` | etcd members |\n| `etcd.heartBeat` | typo |\n"
                    "\n```yaml\nrtt: 1ms\n```\n")
    assert undocumented({"members", "rtt", "serversPerRack"}, page) == ["rtt", "serversPerRack"]
    assert key_table_words(page) - {"members", "etcd"} == {"heartBeat"}


# -- (c) examples -----------------------------------------------------------------------------

@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_mentioned(example):
    text = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
    assert example.name in text, f"topologies/{example.name} is mentioned neither in README.md nor in docs/"


def test_the_complete_example_is_korea_stretched_as_it_is():
    body = COMPLETE_EXAMPLE.read_text(encoding="utf-8")
    body = body[body.index("apiVersion:"):]
    blocks = fenced_blocks(TOPOLOGY_DOC.read_text(encoding="utf-8"), "yaml")
    assert body in blocks, ("docs/topology.md must show topologies/korea-stretched.yaml, from apiVersion down, "
                            "as one ```yaml block (its header comment calls it the page's example)")


def test_the_complete_examples_in_topology_md_load():
    blocks = [b for b in fenced_blocks(TOPOLOGY_DOC.read_text(encoding="utf-8"), "yaml")
              if b.startswith("apiVersion:")]
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        load_topology_text(block, filename=f"docs/topology.md example {i + 1}")


def test_every_command_and_option_is_in_the_readme_and_results_md():
    """The README's command table and docs/results.md name every command and every long option
    (the README once lacked `whatif --upgrade`, results.md counted five commands of eight)."""
    from kchaos.cli import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    results = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert len(cli.commands) == 10 and "kchaos has ten commands" in results
    for name, command in cli.commands.items():
        for page, text in (("README.md", readme), ("docs/results.md", results)):
            assert f"kchaos {name}" in text, (page, name)
            for param in command.params:
                for option in param.opts:
                    if option.startswith("--"):
                        assert option in text, (page, name, option)
