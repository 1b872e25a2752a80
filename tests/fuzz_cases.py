"""The hostile-input campaign, shared by the fast slice (tests/test_fuzz.py, every run) and
the long campaign (tests/test_fuzz_campaign.py, ``pytest -m fuzz``).

Mutants of the example topologies, of a `kubectl get nodes -o json` export, of manifests, of
a drill's `kubectl get events -o json` (``observe``) and of a results.json (``check --baseline``):
a value replaced by a wrong type, an extreme number, a unit string, unicode or control
characters, a key removed or added, deep nesting; and at the text level a YAML tag that would
run a command, an alias bomb, a truncated or re-encoded file, a huge file. Every mutant goes
through the real CLI (:func:`kchaos.cli.main`), and :func:`verdict` asserts what the issue
asks of every input: an exit code of 0, 1 or 2 and never a traceback (an exception out of
``main`` fails the test), every problem told against the user's file (with a line inside it
when there is one), no control character on the terminal, nothing injected into a written
topology, no command run from a tag, nothing half-written.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import signal
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from kchaos.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))
#: What a terminal would act on: C0 controls but tab and newline, DEL, C1 controls, bidi overrides.
LIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The longest any one input may take, in-process (a hang fails the test instead of the suite).
SECONDS_PER_CASE = 60

EXTREME_NUMBERS = [0, -1, 1, 7, 2**31, 2**63, 2**64, 10**30, -(10**30), 1e308, -1e308, 1e-308, 5e-324,
                   float("inf"), float("-inf"), float("nan"), 0.5, 1e24, True, False]
UNIT_STRINGS = ["1e308", "1e24", "1e-30", "10ms", "1us", "0s", "-1s", "5x", "1Pi", "1Ei", "64Gi", "-1Gi", "500m",
                "0.0001m", "99.99%", "101%", "-5%", "NaN", ".inf", "1h30m", "10000000y", "²", "١٢", "1_000",
                "0x10", "1e9999", "none", "None", "null", "~", "", " ", "yes", "spread", "DoNotSchedule"]
UNICODE = ["😀", "\u202e", "\u200b", "e\u0301", "名前", "\ufeff", "a" * 300, "x:100:y", "a:fire:b", "[red]x[/red]"]
CONTROL = ["\x1b]0;PWNED\x07", "\x1b[2J\x1b[H", "\x1b]52;c;cm0gLXJmIH4=\x07", "\x9b31m", "a\nb: c",
           "}\n  - {name: injected, kind: Deployment, replicas: 50}\n    #", "\r", "\t", "\x7f", "\x00"]
SCALARS = EXTREME_NUMBERS + UNIT_STRINGS + UNICODE + CONTROL


def hostile_values(depth: int = 2) -> st.SearchStrategy:
    """A value a file could hold where something else is expected."""
    hostile = st.sampled_from(SCALARS)
    leaf = st.one_of(hostile, hostile, hostile, st.none(), st.booleans(), st.integers(),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
    if depth <= 0:
        return leaf
    inner = hostile_values(depth - 1)
    return st.one_of(leaf, leaf, st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3))


def paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in ``data`` (mappings and lists), the root excluded."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append(prefix + (k,))
            out += paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.append(prefix + (i,))
            out += paths(v, prefix + (i,))
    return out


def _parent(data: Any, path: tuple) -> Any:
    for k in path[:-1]:
        data = data[k]
    return data


#: The keys kchaos reads from a nodes export and from manifests: a mutation lands on one of
#: them three times in four (the rest of an object is not read at all).
NODE_KEYS = {"kind", "items", "metadata", "name", "labels", "status", "allocatable", "cpu", "memory", "pods",
             "topology.kubernetes.io/region", "topology.kubernetes.io/zone", "kubernetes.io/hostname",
             "node.kubernetes.io/instance-type", "node-role.kubernetes.io/control-plane",
             "topology.example.com/rack", "topology.example.com/host", "annotations", "spec", "taints", "key",
             "value", "effect", "unschedulable", "providerID", "conditions", "type", "addresses", "address",
             "eks.amazonaws.com/nodegroup", "machine.openshift.io/machine"}
MANIFEST_KEYS = {"kind", "metadata", "name", "namespace", "spec", "replicas", "template", "labels", "app",
                 "containers", "initContainers", "resources", "requests", "cpu", "memory",
                 "topologySpreadConstraints", "maxSkew", "topologyKey", "whenUnsatisfiable", "nodeTaintsPolicy",
                 "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                 "volumeClaimTemplates", "selector", "matchLabels", "minAvailable", "maxUnavailable", "items",
                 "podAffinity", "preferredDuringSchedulingIgnoredDuringExecution", "weight", "podAffinityTerm",
                 "namespaces", "namespaceSelector", "labelSelector", "matchExpressions", "key", "operator", "values",
                 "volumes", "persistentVolumeClaim", "claimName", "accessModes", "podManagementPolicy"}


#: The most key paths a mutant grows to by repeating parts of itself.
MAX_PATHS = 200_000


@st.composite
def mutated(draw, data: Any, focus: set[str] | None = None) -> Any:
    """``data`` with one to three structural mutations (on a key of ``focus`` mostly)."""
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        every = paths(data)
        if not every:
            break
        read = [p for p in every if focus and (p[-1] in focus or isinstance(p[-1], int))]
        path = draw(st.sampled_from(read if read and draw(st.integers(0, 3)) else every))
        parent = _parent(data, path)
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "nest", "repeat"]))
        if op == "replace":
            parent[path[-1]] = draw(hostile_values())
        elif op == "delete":
            del parent[path[-1]]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["capcity", "replcias", "x", "名前", "\x1b[2J", "spreadOver"]))] = \
                draw(hostile_values(1))
        elif op == "nest":
            value: Any = draw(st.sampled_from(SCALARS))
            for _ in range(draw(st.sampled_from([3, 63, 70, 300]))):
                value = [value]
            parent[path[-1]] = value
        elif op == "repeat" and isinstance(parent, list) and parent:
            # Repeats of repeats multiply: the copies are capped so that a mutant stays within
            # MAX_PATHS (three repeats of 2,000 once made a mutant of billions of nodes, and the
            # test process ran out of memory before kchaos saw it).
            size = 1 + len(paths(parent[path[-1]]))
            times = min(draw(st.sampled_from([1, 50, 2000])), max(1, (MAX_PATHS - len(every)) // size))
            parent.extend(copy.deepcopy(parent[path[-1]]) for _ in range(times))
    return data


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6)


#: Text-level mutations: what a data mutation cannot express.
TEXT_OPS = ["tag", "alias-bomb", "truncate", "bytes", "utf-16", "utf-32", "bom", "huge", "deep", "tab", "dup-key",
            "doc", "none"]


@st.composite
def mutated_text(draw, text: str, marker: Path) -> bytes:
    """``text`` after one text-level mutation; a tag mutant would create ``marker`` if run."""
    op = draw(st.sampled_from(TEXT_OPS))
    lines = text.splitlines(keepends=True) or ["\n"]
    at = draw(st.integers(0, len(lines)))
    if op == "tag":
        tag = draw(st.sampled_from([
            f"!!python/object/apply:os.system ['touch {marker}']",
            f"!!python/object/apply:subprocess.call [['touch', '{marker}']]",
            "!!python/name:os.system", "!!binary aGVsbG8=", "!custom x", "!!timestamp 2001-12-14"]))
        value_lines = [i for i, line in enumerate(lines) if re.search(r":\s+\S", line)]
        if value_lines:
            i = draw(st.sampled_from(value_lines))
            key, _, _ = lines[i].partition(":")
            lines[i] = f"{key}: {tag}\n"
        return "".join(lines).encode()
    if op == "alias-bomb":
        bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]\n" for k in range(1, 9))
        return (text + bomb).encode()
    if op == "truncate":
        raw = text.encode()
        return raw[: draw(st.integers(0, len(raw)))]
    if op == "bytes":
        raw = bytearray(text.encode())
        pos = draw(st.integers(0, len(raw)))
        raw[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        return bytes(raw)
    if op in ("utf-16", "utf-32"):
        return text.encode(op)
    if op == "bom":
        return "\ufeff".encode() + text.encode()
    if op == "huge":
        return (text + "#" * (5 * 2**20 + 10)).encode()
    if op == "deep":
        depth = draw(st.sampled_from([65, 1000, 100_000]))
        lines.insert(at, "deep: " + "[" * depth + "]" * depth + "\n")
        return "".join(lines).encode()
    if op == "tab":
        lines.insert(at, "\tkey: value\n")
        return "".join(lines).encode()
    if op == "dup-key" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        return "".join(lines).encode()
    if op == "doc":
        return (text + "---\n" + text).encode()
    return text.encode()


class Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int = SECONDS_PER_CASE):
    """Fail (not hang) when a case takes longer than ``seconds``."""
    def expired(signum, frame):
        raise Timeout(f"a case took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """``kchaos ARGS`` in this process: exit code, standard output, standard error. An exception
    escaping :func:`main` (a traceback for a user) propagates and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with time_limit(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def verdict(code: int, out: str, err: str, inputs: list[Path], codes: tuple[int, ...] = (0, 1, 2)) -> None:
    """What every run of kchaos on any input must satisfy."""
    assert code in codes, (code, err[-2000:])
    assert "Traceback" not in out + err
    assert not LIVE.search(out + err), repr((out + err)[:500])
    if code == 2:
        names = [str(p) for p in inputs]
        problems = [line for line in err.splitlines() if line.startswith("error: ")]
        assert problems, err
        for line in problems:
            told = line[len("error: "):]
            if told.startswith("... and "):
                continue
            owner = next((n for n in names if told.startswith(n + ":")), None)
            assert owner is not None, f"not told against the input file: {line!r}"
            m = re.match(r"(\d+):", told[len(owner) + 1:])
            if m:  # a line, inside the file
                total = Path(owner).read_bytes().count(b"\n") + 1 if Path(owner).is_file() else 10**9
                assert 1 <= int(m.group(1)) <= total + 1, line


def report_pair(folder: Path) -> None:
    """A report folder holds both files, each whole, or neither."""
    if not folder.exists():
        return
    names = sorted(p.name for p in folder.iterdir())
    assert names in ([], ["index.html", "results.json"]), names
    if names:
        json.loads((folder / "results.json").read_text())
        assert (folder / "index.html").read_text().rstrip().endswith("</html>")


def workload_names(manifests: list[dict]) -> set[str]:
    """Every name an imported workload may take from these manifests (its own, namespaced)."""
    names: set[str] = set()
    for m in manifests:
        meta = m.get("metadata") if isinstance(m, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("name"), str):
            ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else "default"
            names |= {meta["name"], f"{ns}-{meta['name']}"}
            names |= {f"{ns}-{meta['name']}-{k}" for k in range(2, 10)}
    return names


def _workload_keys() -> set[str]:
    from kchaos.topology import definitions

    return set(definitions.WORKLOAD.keys)


def imported_is_clean(path: Path, manifests: list[dict], nodes: int | None = None) -> None:
    """The topology ``kchaos import`` wrote: it loads, holds no workload the manifests do not,
    no key a workload cannot have, and (``nodes``) no more nodes than the export's items."""
    from kchaos.topology import load_topology

    cluster = load_topology(path)
    data = yaml.safe_load(path.read_text())
    allowed = workload_names(manifests)
    for w in data.get("workloads") or []:
        assert set(w) <= _workload_keys(), w
        assert w["name"] in allowed, (w["name"], sorted(allowed))
    assert len(data.get("workloads") or []) <= sum(
        1 for m in manifests if isinstance(m, dict) and m.get("kind") in ("Deployment", "StatefulSet", "DaemonSet"))
    if nodes is not None:  # every node of the export, or fewer where names repeat (standby: what an autoscaler adds)
        assert 1 <= sum(not n.standby for n in cluster.nodes) <= nodes


# -- the cases: one mutant through the CLI, every assertion above -------------------------------

def check_topology(data: Any, command: str) -> None:
    """A mutated topology through ``validate`` or a short ``run``."""
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "topo.yaml", Path(tmp) / "out"
        path.write_text(dump_yaml(data), encoding="utf-8")
        args = ["validate", str(path)] if command == "validate" else \
            ["run", str(path), "-n", "20", "-j", "1", "-q", "-o", str(out)]
        verdict(*run_cli(args), [path])
        report_pair(out)


def check_topology_text(raw: bytes, marker: Path) -> None:
    """A topology mutated as text (tags, bombs, encodings, sizes) through ``validate``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "topo.yaml"
        path.write_bytes(raw)
        verdict(*run_cli(["validate", str(path)]), [path])
        assert not marker.exists(), "a YAML tag ran a command"


def write_nodes(path: Path, data: Any, as_json: bool, ascii_only: bool) -> None:
    if as_json:
        path.write_text(json.dumps(data, indent=2, ensure_ascii=ascii_only, allow_nan=True), encoding="utf-8")
    else:
        path.write_text(dump_yaml(data), encoding="utf-8")


def check_nodes(data: Any, as_json: bool, ascii_only: bool) -> None:
    """A mutated `kubectl get nodes -o json` through ``import``."""
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "nodes.json", Path(tmp) / "cluster.yaml"
        write_nodes(path, data, as_json, ascii_only)
        code, o, e = run_cli(["import", "--nodes", str(path), "-o", str(out)])
        verdict(code, o, e, [path], codes=(0, 2))
        if code == 0:
            imported_is_clean(out, [], nodes=len(data["items"]))
        else:
            assert not out.exists()


def check_manifests(files: dict[str, list[Any]], nodes: dict, command: str) -> None:
    """Mutated manifests (file -> documents) through ``import -f`` or ``run -f``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder, nodes_path, out = Path(tmp) / "k8s", Path(tmp) / "nodes.json", Path(tmp) / "cluster.yaml"
        nodes_path.write_text(json.dumps(nodes))
        paths = []
        for name, docs in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".json"):
                path.write_text(json.dumps({"kind": "List", "items": docs}, allow_nan=True), encoding="utf-8")
            else:
                path.write_text(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True), encoding="utf-8")
            paths.append(path)
        if command == "import":
            args = ["import", "--nodes", str(nodes_path), "-f", str(folder), "-o", str(out)]
        else:
            args = ["run", str(ROOT / "topologies" / "three-datacenters.yaml"), "-f", str(folder), "-n", "20",
                    "-j", "1", "-q", "-o", str(Path(tmp) / "report")]
        code, o, e = run_cli(args)
        verdict(code, o, e, [nodes_path, *paths, ROOT / "topologies" / "three-datacenters.yaml"],
                codes=(0, 2) if command == "import" else (0, 1, 2))
        every = [d for docs in files.values() for d in docs]
        if command == "import" and code == 0:
            imported_is_clean(out, every)
        if command == "run":
            report_pair(Path(tmp) / "report")


#: Fields kchaos reads that the fixtures' manifests do not carry: a preferred pod affinity term
#: with expressions, namespaces and a namespaceSelector, a volume's claim and the claim itself.
EXTRA_MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers: [{name: w, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: worker-data}}]
      affinity:
        podAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 50
              podAffinityTerm:
                topologyKey: topology.kubernetes.io/zone
                namespaces: [shop]
                namespaceSelector: {}
                labelSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: worker-data, namespace: shop}
spec: {accessModes: [ReadWriteMany]}
"""


def manifest_files() -> dict[str, list[Any]]:
    """The test fixtures' manifests (tests/kube_fixtures.py) and :data:`EXTRA_MANIFESTS`, as
    documents per file."""
    from .kube_fixtures import MANIFESTS

    texts = {**MANIFESTS, "extras.yaml": EXTRA_MANIFESTS}
    return {name: [d for d in yaml.safe_load_all(text) if d is not None] for name, text in texts.items()}


def fuzz_nodes() -> dict:
    """The fixtures' nodes export with the fields kchaos reads that it does not carry: addresses,
    providerID, spec.unschedulable, a node group label, an OpenShift machine annotation."""
    from .kube_fixtures import three_zone_nodes

    data = three_zone_nodes()
    for i, item in enumerate(data["items"]):
        item.setdefault("spec", {}).update(providerID=f"aws:///eu-west-1a/i-{i:04d}", unschedulable=False)
        item["status"]["addresses"] = [{"type": "InternalIP", "address": f"10.0.0.{i + 1}"},
                                       {"type": "Hostname", "address": item["metadata"]["name"]}]
    data["items"][1]["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] = "general"
    data["items"][2]["metadata"]["annotations"] = {"machine.openshift.io/machine": "openshift-machine-api/w-a-x1b2c"}
    return data


@st.composite
def mutated_manifests(draw) -> dict[str, list[Any]]:
    files = manifest_files()
    name = draw(st.sampled_from(sorted(files)))
    docs = files[name]
    i = draw(st.integers(0, len(docs) - 1))
    docs[i] = draw(mutated(docs[i], MANIFEST_KEYS))
    if draw(st.booleans()):  # the same objects as `kubectl get ... -o json` would give them
        files[name.rsplit(".", 1)[0] + ".json"] = files.pop(name)
    return files


# -- events (`observe --events`) and a previous results.json (`check --baseline`) ----------------

EVENT_KEYS = {"items", "kind", "metadata", "creationTimestamp", "involvedObject", "regarding", "name", "namespace",
              "reason", "message", "note", "eventTime", "firstTimestamp", "deprecatedFirstTimestamp",
              "lastTimestamp"}
BASELINE_KEYS = {"schema", "run", "seed", "failures_requested", "histories", "sampling", "method", "topology",
                 "name", "control_plane", "availability", "estimate", "ci95", "workloads", "samples", "seconds",
                 "controlPlane", "down", "exact"}
BASELINE_TOPOLOGY = ROOT / "topologies" / "three-workers.yaml"


def drill_events() -> dict:
    """What `kubectl get events -A -o json` shows after a drill of node/w-1 (tests/test_observe.py)."""
    from kchaos.analysis.whatif import run_scenario
    from kchaos.topology import load_topology_text

    from .kube_fixtures import drill_capture
    from .test_observe import START, TOPOLOGY

    return drill_capture(run_scenario(load_topology_text(TOPOLOGY, "drill.yaml"), ["node/w-1"], seed=7), START)


def check_events(data: Any, as_json: bool, terminal: bool) -> None:
    """Mutated events through ``observe --events`` (its table, or --json)."""
    from .test_observe import START, TOPOLOGY

    with tempfile.TemporaryDirectory() as tmp:
        topo, path = Path(tmp) / "topology.yaml", Path(tmp) / ("events.json" if as_json else "events.yaml")
        topo.write_text(TOPOLOGY)
        path.write_text(json.dumps(data, allow_nan=True) if as_json else dump_yaml(data), encoding="utf-8")
        args = ["observe", str(topo), "--fail", "node/w-1", "--start", START, "--events", str(path)]
        verdict(*run_cli(args + ([] if terminal else ["--json"])), [path, topo])


_BASELINE: list[dict] = []


def baseline() -> dict:
    """A results.json of a short run of three-workers.yaml (made once)."""
    if not _BASELINE:
        with tempfile.TemporaryDirectory() as tmp:
            code, _, err = run_cli(["run", str(BASELINE_TOPOLOGY), "-n", "100", "-j", "1", "-q", "-o", tmp])
            assert code == 0, err
            _BASELINE.append(json.loads((Path(tmp) / "results.json").read_text()))
    return copy.deepcopy(_BASELINE[0])


def check_baseline(data: Any) -> None:
    """A mutated results.json through ``check --baseline``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.json"
        path.write_text(json.dumps(data, allow_nan=True, indent=1), encoding="utf-8")
        args = ["check", str(BASELINE_TOPOLOGY), "--baseline", str(path), "-n", "100", "-j", "1"]
        verdict(*run_cli(args), [path, BASELINE_TOPOLOGY])
