"""Bad topologies: every problem is reported as file:line: path: message, never a traceback."""

from __future__ import annotations

import copy
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kchaos.errors import KchaosUsageError, TopologyError
from kchaos.topology import load_topology, load_topology_text

DATA = Path(__file__).resolve().parent / "data"

VALID = textwrap.dedent("""\
    apiVersion: kchaos/v1alpha1
    kind: Topology
    metadata:
      name: t
    regions:
      - name: r1
        datacenters:
          - name: dc1
            racks:
              - name: rack1
                servers: [s1, s2, s3]
    controlPlane:
      members: 3
      etcd:
        heartbeatInterval: 100ms
    workers:
      - pool: w
        count: 2
        capacity: {cpu: 4, memory: 8Gi}
    workloads:
      - name: web
        kind: Deployment
        replicas: 2
    """)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def problems(content: str | bytes, name: str = "t.yaml", **kwargs: object) -> list[str]:
    """Write ``content`` to ``name`` (relative: messages start with it), load it, return the problems."""
    path = Path(name)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(TopologyError) as info:
        load_topology(name, **kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, KchaosUsageError)
    found = [str(p) for p in info.value.problems]
    assert str(info.value) == "\n".join(found)
    for text in found:
        assert text.startswith(f"{name}:")
    return found


def edit(old: str, new: str, text: str = VALID) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def only(found: list[str]) -> str:
    assert len(found) == 1, found
    return found[0]


def test_the_valid_base_loads() -> None:
    Path("t.yaml").write_text(VALID)
    assert len(load_topology("t.yaml").members) == 3


# -- files that are not topologies ----------------------------------------

def test_missing_file() -> None:
    assert only(problems_missing("nope.yaml")) == "nope.yaml: no such file"


def problems_missing(name: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load_topology(name)
    return [str(p) for p in info.value.problems]


def test_directory() -> None:
    Path("d.yaml").mkdir()
    assert "is a directory" in only(problems_missing("d.yaml"))


@pytest.mark.parametrize("content", ["", "\n\n   \n", "# just a comment\n", "---\n", "~\n"])
def test_empty_file(content: str) -> None:
    message = only(problems(content))
    assert "empty" in message


def test_binary_garbage() -> None:
    message = only(problems(bytes(range(256)) * 4))
    assert message.startswith("t.yaml:1: ") and "binary" in message
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
    assert "binary" in only(problems(png))


def test_undecodable_text() -> None:
    text = b"apiVersion: kchaos/v1alpha1\nkind: \xff\xfeTopology\n"
    assert only(problems(text)) == "t.yaml:2: is not UTF-8 text (byte 0xff cannot be decoded)"
    assert "UTF-16" in only(problems("apiVersion: x\n".encode("utf-16")))


def test_control_character() -> None:
    message = only(problems("apiVersion: kchaos/v1alpha1\nkind: \x07Topology\n"))
    assert message.startswith("t.yaml:2: ") and "U+0007" in message


def test_too_large(tmp_path: Path) -> None:
    message = only(problems(VALID + "#" * (5 * 2**20)))
    assert "5 MB" in message


def test_multi_document() -> None:
    text = VALID + "---\napiVersion: kchaos/v1alpha1\n"
    message = only(problems(text))
    assert message.startswith(f"t.yaml:{line_of(text, '---')}: ") and "more than one YAML document" in message


def test_top_level_not_a_mapping() -> None:
    assert "top level must be a mapping" in only(problems("- a\n- b\n"))
    assert "top level must be a mapping" in only(problems("just a string\n"))


def test_yaml_syntax_error() -> None:
    text = edit("  members: 3", "  members: [3")
    message = only(problems(text))
    assert "YAML syntax error" in message


def test_tabs() -> None:
    message = only(problems(edit("  members: 3", "\tmembers: 3")))
    assert "tabs" in message


# -- hostile YAML ----------------------------------------------------------

def test_python_tag_is_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = edit("  name: t", f"  name: !!python/object/apply:os.system ['touch {marker}']")
    text = edit("  members: 3", f"  members: !!python/object/apply:builtins.open ['{marker}', 'w']", text)
    found = problems(text)
    assert not marker.exists()
    assert found == [
        f"t.yaml:{line_of(text, 'os.system')}: metadata.name: tags are not allowed: "
        "'!!python/object/apply:os.system' (only plain values; standard tags !!str, !!int, !!float, !!bool, "
        "!!null, !!seq, !!map)",
        f"t.yaml:{line_of(text, 'builtins.open')}: controlPlane.members: tags are not allowed: "
        "'!!python/object/apply:builtins.open' (only plain values; standard tags !!str, !!int, !!float, !!bool, "
        "!!null, !!seq, !!map)",
    ]


def test_python_tag_on_the_whole_document(tmp_path: Path) -> None:
    marker = tmp_path / "pwned2"
    message = only(problems(f"!!python/object/apply:os.system ['touch {marker}']\n"))
    assert "tags are not allowed" in message
    assert not marker.exists()


def test_custom_and_mismatched_tags() -> None:
    assert "tags are not allowed: '!secret'" in only(problems(edit("  name: t", "  name: !secret t")))
    assert "cannot read 'x' as !!int" in only(problems(edit("  members: 3", "  members: !!int x")))
    assert "tags are not allowed: '!!set'" in only(problems(edit("  name: t", "  name: !!set {a: null}")))
    # standard tags are fine
    Path("ok.yaml").write_text(edit("  members: 3", "  members: !!int '3'"))
    assert len(load_topology("ok.yaml").members) == 3


def test_alias_bomb_fails_fast() -> None:
    lines = ['lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"lol{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    text = VALID + "\n".join(lines) + "\n"
    start = time.perf_counter()
    message = only(problems(text))
    assert time.perf_counter() - start < 0.5
    assert "the document expands to more than 200000 values (alias bomb?)" in message


def test_deep_nesting_fails_fast() -> None:
    # libyaml's composer would crash the interpreter, and its scanner is quadratic in flow depth.
    start = time.perf_counter()
    message = only(problems("a: " + "[" * 1_000_000))
    assert time.perf_counter() - start < 0.5
    # Our own limit, or PyYAML >= 6.0.4's nesting limit, whichever the reader meets first.
    assert "nested more than 64 levels deep" in message or "maximum nesting depth" in message


def test_recursive_and_undefined_aliases() -> None:
    assert "contains it" in only(problems("a: &x [1, *x]\n"))
    assert "no anchor defined before it" in only(problems("a: *nope\n"))


def test_duplicate_mapping_key() -> None:
    text = edit("  members: 3", "  members: 3\n  members: 5")
    assert only(problems(text)) == (f"t.yaml:{line_of(text, 'members: 5')}: controlPlane.members: "
                                    f"duplicate key 'members' (lines {line_of(text, 'members: 3')} and "
                                    f"{line_of(text, 'members: 5')}); remove one of them")


def test_absurd_counts_fail_before_allocating() -> None:
    start = time.perf_counter()
    text = edit("servers: [s1, s2, s3]", "servers: 1000000000000")
    assert "must be between 1 and 100000" in only(problems(text)) or "at most 100000" in only(problems(text))
    text = edit("    racks:\n          - name: rack1\n            servers: [s1, s2, s3]",
                "    racks: 400\n        serversPerRack: 400")
    assert "more than 100000 servers" in only(problems(text))
    text = edit("    count: 2", "    count: 19999")
    assert "the topology declares 20002 nodes; kchaos handles at most 20000" in only(problems(text))
    text = edit("    replicas: 2", "    replicas: 999999999")
    assert "at most 1000000" in only(problems(text))
    text = edit("    replicas: 2", "    replicas: 600000") + "  - {name: more, kind: Deployment, replicas: 600000}\n"
    assert "the workloads add up to 1200000 pods" in only(problems(text))
    assert time.perf_counter() - start < 2


# -- schema ----------------------------------------------------------------

@pytest.mark.parametrize("members", [0, 9])
def test_members_out_of_range(members: int) -> None:
    text = edit("  members: 3", f"  members: {members}")
    assert only(problems(text)) == (f"t.yaml:{line_of(text, 'members:')}: controlPlane.members: "
                                    f"must be between 1 and 7, got {members}")


def test_typo_gets_did_you_mean() -> None:
    text = edit("  members: 3", "  membres: 3")
    assert only(problems(text)) == (f"t.yaml:{line_of(text, 'membres')}: controlPlane.membres: "
                                    "unknown key 'membres'; did you mean 'members'?")
    text = edit("workloads:", "workload:")
    assert "unknown key 'workload'; did you mean 'workloads'?" in only(problems(text))
    text = edit("    kind: Deployment", "    kind: Deploymnet")
    assert "must be one of: Deployment, StatefulSet, DaemonSet; got 'Deploymnet' (did you mean 'Deployment'?)" in \
        only(problems(text))
    assert "unknown key 'foo'; expected one of: " in only(problems(edit("  members: 3", "  foo: 3")))


def test_unknown_server_in_placement() -> None:
    text = edit("  members: 3", "  members: 3\n  placement: [s1, db-z, s3]")
    assert only(problems(text)) == (
        f"t.yaml:{line_of(text, 'db-z')}: controlPlane.placement[1]: unknown server 'db-z' "
        "(referenced in controlPlane.placement[1]); known servers: s1, s2, s3")
    text = edit("  members: 3", "  members: 3\n  placement: [s1, s2, s3x]")
    assert "did you mean 's3'? known servers: s1, s2, s3" in only(problems(text))


def test_long_known_lists_are_truncated() -> None:
    text = edit("servers: [s1, s2, s3]", "servers: 30")
    text = edit("  members: 3", "  members: 3\n  placement: [nope, rack1-s1, rack1-s2]", text)
    message = only(problems(text))
    assert "known servers: rack1-s1, rack1-s2, " in message and "... (22 more)" in message


def test_placement_count_and_domain_problems() -> None:
    text = edit("  members: 3", "  members: 3\n  placement: [s1, s2]")
    assert "lists 2 servers but members is 3" in only(problems(text))
    text = edit("    count: 2", "    count: 2\n    placement: {rack: dc1}")
    assert "'dc1' is a datacenter, not a rack" in only(problems(text))
    text = edit("    count: 2", "    count: 2\n    placement: spred")
    assert "(did you mean 'spread'?)" in only(problems(text))


def test_duration_without_unit() -> None:
    text = edit("heartbeatInterval: 100ms", "heartbeatInterval: 100")
    assert only(problems(text)) == (
        f"t.yaml:{line_of(text, 'heartbeatInterval')}: controlPlane.etcd.heartbeatInterval: "
        "duration needs a unit, e.g. '40s' (units: us, ms, s, m, h, d, y), got 100")


def test_negative_and_non_numeric_values() -> None:
    text = edit("    count: 2", "    count: -3")
    assert only(problems(text)) == f"t.yaml:{line_of(text, 'count: -3')}: workers[0].count: " \
                                   "must be a positive number, got -3"
    text = edit("    count: 2", "    count: three")
    assert only(problems(text)).endswith("workers[0].count: must be a whole number, got 'three'")
    text = edit("    count: 2", "    count: '2'")
    assert "remove the quotes" in only(problems(text))
    text = edit("{cpu: 4, memory: 8Gi}", "{cpu: -4, memory: lots}")
    found = problems(text)
    assert any(p.endswith("workers[0].capacity.cpu: must be a positive quantity, got -4") for p in found)
    assert any("workers[0].capacity.memory: cannot read 'lots' as a memory quantity" in p for p in found)
    text = edit("heartbeatInterval: 100ms", "heartbeatInterval: -100ms")
    assert "must be a positive duration, got '-100ms'" in only(problems(text))
    text = edit("{cpu: 4, memory: 8Gi}", "{cpu: 4, memory: 8}")
    assert "is only 8 bytes; add a suffix, e.g. '8Gi'" in only(problems(text))


def test_duplicate_names() -> None:
    text = edit("servers: [s1, s2, s3]", "servers: [s1, s2, rack1]")
    assert only(problems(text)) == (f"t.yaml:{line_of(text, 'servers:')}: regions[0].datacenters[0].racks[0]"
                                    f".servers[2]: name 'rack1' is used twice (lines {line_of(text, '- name: rack1')} "
                                    f"and {line_of(text, 'servers:')}: a rack and a server)")
    text = edit("servers: [s1, s2, s3]", "servers: [s1, s2, s3]\n          - name: rack2\n"
                                         "            servers: [s3]")
    assert f"name 's3' is used twice (lines {line_of(text, 's1, s2, s3')} and {line_of(text, 'servers: [s3]')})" \
        in only(problems(text))
    text = VALID + "  - name: web\n    kind: Deployment\n"
    assert "workload 'web' is defined twice" in only(problems(text))


def test_missing_region_rtt() -> None:
    region = "  - name: r2\n    datacenters:\n      - {name: dc2, racks: 1, serversPerRack: 1}\n"
    text = edit("regions:\n", "regions:\n" + region)
    assert only(problems(text)) == ("t.yaml:1: network: no RTT between regions 'r2' and 'r1'; "
                                    "add {between: [r2, r1], rtt: 8ms}")
    text += "network:\n  regions:\n    - {between: [r1, r3], rtt: 5ms}\n"
    found = problems(text)
    assert any("unknown region 'r3' (referenced in network.regions[0].between[1])" in p for p in found)
    assert any(f"t.yaml:{line_of(text, '  regions:')}: network.regions: no RTT between regions 'r2' and 'r1'" in p
               for p in found)


def test_unknown_kind_and_api_version() -> None:
    text = edit("kind: Topology", "kind: Topologie")
    assert only(problems(text)) == "t.yaml:2: kind: unknown kind 'Topologie'; expected Topology"
    text = edit("apiVersion: kchaos/v1alpha1", "apiVersion: kchaos/v2")
    assert only(problems(text)) == "t.yaml:1: apiVersion: unsupported apiVersion 'kchaos/v2'; supported: " \
                                   "kchaos/v1alpha1"
    text = edit("apiVersion: kchaos/v1alpha1\n", "")
    assert "apiVersion: is required: apiVersion: kchaos/v1alpha1" in only(problems(text))


def test_missing_required_keys_point_at_the_parent() -> None:
    text = edit("    count: 2\n", "")
    assert only(problems(text)) == f"t.yaml:{line_of(text, '- pool: w')}: workers[0].count: is required"
    assert "regions: is required" in only(problems("apiVersion: kchaos/v1alpha1\nkind: Topology\n"))


def test_semantic_rules() -> None:
    def one(old: str, new: str) -> str:
        return only(problems(edit(old, new)))

    assert "a DaemonSet runs one pod per worker node; remove replicas" in one("kind: Deployment", "kind: DaemonSet")
    assert "must be at most replicas (2), got 3: the workload could never be available" in one(
        "    replicas: 2", "    replicas: 2\n    minAvailable: 3")
    assert "give either spreadOver (shorthand) or spread, not both" in one(
        "    replicas: 2", "    replicas: 2\n    spreadOver: rack\n    spread: {over: rack}")
    assert "only applies to a StatefulSet" in one("    replicas: 2", "    replicas: 2\n    volumeScope: rack")
    assert "only applies with etcdTopology: external" in one("  members: 3", "  members: 3\n  apiServers: 2")
    assert "etcd refuses to start otherwise" in one("heartbeatInterval: 100ms",
                                                    "heartbeatInterval: 100ms\n    electionTimeout: 300ms")
    assert "must be at most 50s" in one("heartbeatInterval: 100ms", "electionTimeout: 60s")
    assert "must be longer than renewDeadline" in one("  etcd:", "  leaderElection: {leaseDuration: 5s}\n  etcd:")
    assert "weibull needs a parameter: {weibull: {shape: 1.3}}" in only(
        problems(VALID + "failures:\n  node: {ttf: weibull}\n"))
    assert "must be {mtbf: ..., mttr: ...} or none, got 3" in only(problems(VALID + "failures:\n  node: 3\n"))
    assert "unknown key 'nodes'; did you mean 'node'?" in only(problems(VALID + "failures:\n  nodes: none\n"))
    assert "unknown workload 'wbe' (referenced in slo.workloads.wbe); did you mean 'web'?" in only(
        problems(VALID + "slo:\n  workloads: {wbe: 99.9}\n"))
    assert "is in percent: 0.9999 means 0.9999%; write 99.99 or '99.99%'" in only(
        problems(VALID + "slo: {controlPlane: 0.9999}\n"))
    assert "is a fraction: write 0.9 or '90%'" in only(problems(VALID + "slo: {maxNodeUtilization: 90}\n"))
    assert "must not contain '..'" in one("  name: t", "  name: a..b")
    assert "must not contain blanks, '/' or '\\'" in one("  name: t", "  name: ../etc")
    assert "must not contain blanks, '/' or '\\'" in one("  name: t", "  name: a/b")


def test_several_problems_all_reported_in_file_order() -> None:
    text = VALID
    text = edit("kind: Topology", "kind: Topologie", text)
    text = edit("  members: 3", "  members: 9\n  placement: [s1, db-z]", text)
    text = edit("heartbeatInterval: 100ms", "heartbeatInterval: 100", text)
    text = edit("    count: 2", "    count: -3", text)
    text = edit("    replicas: 2", "    replicas: 2\n    spredOver: rack", text)
    found = problems(text)
    assert [int(p.split(":")[1]) for p in found] == sorted(int(p.split(":")[1]) for p in found)
    expected = ["kind: unknown kind 'Topologie'", "controlPlane.members: must be between 1 and 7, got 9",
                "controlPlane.placement[1]: unknown server 'db-z'", "controlPlane.etcd.heartbeatInterval: duration",
                "workers[0].count: must be a positive number, got -3",
                "workloads[0].spredOver: unknown key 'spredOver'; did you mean 'spreadOver'?"]
    assert len(found) == len(expected)
    for p, e in zip(found, expected):
        assert e in p


def test_data_file_with_many_problems() -> None:
    with pytest.raises(TopologyError) as info:
        load_topology(DATA / "many-problems.yaml")
    name = str(DATA / "many-problems.yaml")
    text = (DATA / "many-problems.yaml").read_text()
    found = [str(p) for p in info.value.problems]
    expected = [
        ("name: many problems", "metadata.name: must not contain blanks, '/' or '\\', got 'many problems'"),
        ("power: dual", "regions[0].datacenters[0].power: unknown key 'power'"),
        ("servers: [a, b, a]", "regions[0].datacenters[1].racks[0].servers[2]: name 'a' is used twice (both on"),
        ("network:", "network: no RTT between regions 'eu' and 'us'; add {between: [eu, us], rtt: 8ms}"),
        ("sameRack: 100", "network.rtt.sameRack: duration needs a unit"),
        ("etcdTopology: stackd", "controlPlane.etcdTopology: must be one of: stacked, external; got 'stackd'"),
        ("placement: [a, b, c, d]", "controlPlane.placement[2]: unknown server 'c'"),
        ("placement: [a, b, c, d]", "controlPlane.placement[3]: unknown server 'd'"),
        ("count: 0", "workers[0].count: must be a positive number, got 0"),
        ("memory: 32GB", "workers[0].capacity.memory: cannot read '32GB' as a memory quantity"),
        ("minAvailable: 3", "workloads[0].minAvailable: must be at most replicas (2), got 3"),
        ("weibul:", "failures.node.ttf.weibul: unknown key 'weibul'; did you mean 'weibull'?"),
        ("controlPlane: 120", "slo.controlPlane: must be a percentage in (0, 100], got 120"),
    ]
    assert len(found) == len(expected), found
    for problem, (needle, message) in zip(found, expected):
        assert problem.startswith(f"{name}:{line_of(text, needle)}: {message}"), (problem, needle)


def test_problem_count_is_capped() -> None:
    workloads = "".join(f"  - {{name: w{i}, kind: Nope}}\n" for i in range(150))
    found = problems(VALID + workloads)
    assert len(found) == 101 and found[-1] == "t.yaml: ... and 50 more problems"


def test_overrides_are_validated_and_marked() -> None:
    found = problems(VALID, overrides={"controlPlane.members": 9})
    assert only(found) == (f"t.yaml:{line_of(VALID, 'members: 3')}: controlPlane.members: must be between 1 and 7, "
                           "got 9 (value set by an override)")
    listed = edit("  members: 3", "  members: 3\n  placement: [s1, s2, s3]")
    assert "lists 3 servers but members is 5 (set by an override; override controlPlane.placement to 'spread'" \
        in only(problems(listed, overrides={"controlPlane.members": 5}))
    Path("listed.yaml").write_text(listed)
    five = load_topology("listed.yaml", overrides={"controlPlane.members": 5, "controlPlane.placement": "spread"})
    assert len(five.members) == 5
    found = problems(VALID, overrides={"workers.5.count": 1, "metadata.name.x": 1})
    assert "cannot apply override" in found[0] and "cannot apply override" in found[1]


def test_text_api_uses_the_given_filename() -> None:
    with pytest.raises(TopologyError) as info:
        load_topology_text("kind: Topology\n", "inline.yaml")
    assert str(info.value).startswith("inline.yaml:")
    with pytest.raises(TopologyError):
        load_topology_text("\ud800", "bad.yaml")


# -- robustness --------------------------------------------------------------

_ODD_VALUES = [None, -1, 0, 1, 7, 10**12, 1.5, float("nan"), True, "", "x", "spread", "none", "50%", "100ms",
               "-5s", "64Gi", "kc-1", "db-a", [], [1], ["db-a", "db-b"], {}, {"a": 1}, {"datacenter": "kc-1"},
               {"weibull": {"shape": 1}}, "DaemonSet", "external"]


def _paths(data: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, prefix + (i,))
    return found


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_example_never_raises_anything_else(data: st.DataObject) -> None:
    """Random values anywhere in the korea example: a Cluster or a TopologyError with lines, nothing else."""
    doc = copy.deepcopy(_KOREA)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = copy.deepcopy(data.draw(st.sampled_from(_ODD_VALUES)))
    try:
        load_topology_text(yaml.safe_dump(doc), "fuzz.yaml")
    except TopologyError as err:
        assert err.problems
        assert all(p.line is not None for p in err.problems if not p.message.startswith("..."))


_KOREA = yaml.safe_load((Path(__file__).resolve().parent.parent / "topologies" / "korea-stretched.yaml").read_text())
