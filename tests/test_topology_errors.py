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
                                    f"and {line_of(text, 'servers:')}: a rack and a server); "
                                    "first at regions[0].datacenters[0].racks[0].name")
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
    # An entry naming an unknown region may be the missing RTT: the pairs of r1 are not reported again.
    text += "network:\n  regions:\n    - {between: [r1, r3], rtt: 5ms}\n"
    assert "unknown region 'r3' (referenced in network.regions[0].between[1])" in only(problems(text))
    # ... but the pairs of other regions are.
    text = edit("regions:\n", "regions:\n" + region.replace("r2", "r4").replace("dc2", "dc4"), text)
    found = problems(text)
    assert len(found) == 2, found
    assert "unknown region 'r3' (referenced in network.regions[0].between[1])" in found[1]
    assert found[0] == (f"t.yaml:{line_of(text, '  regions:')}: network.regions: no RTT between regions 'r4' and "
                        "'r2'; add {between: [r4, r2], rtt: 8ms}")


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


# -- one mistake, one problem ------------------------------------------------
# Each case changes one thing in a valid file and expects exactly one problem: at the line
# where the change starts (plus an offset, or the line of a needle), with the key path, and a
# message fragment. Checks that depend on a value that is missing or invalid because of the
# mistake (a misspelt key's default, names derived from a repeated name, references to a
# name that a repeated name replaced) must stay silent.

BASES = {
    "three": (Path(__file__).resolve().parent.parent / "topologies" / "three-datacenters.yaml").read_text(),
    "listed": (DATA / "listed-sites.yaml").read_text(),
}
_EU_COPY = "      - {name: eu-9, racks: 1, serversPerRack: 1}\n  - name: eu\n    datacenters:\n"
_DC_A_COPY = "      - name: dc-a\n        racks:\n          - name: ra1\n            servers: [a1, a2]\n"
_US_REGION = "  - name: us\n    datacenters:\n      - {name: us-1, racks: 1, serversPerRack: 2}\nnetwork:\n"

ONE_MISTAKE = [
    # repeated names: once, at the second one, naming the first; nothing for what is under it
    ("dup-region", "listed", "  - name: eu\n    datacenters:\n", "  - name: eu\n    datacenters:\n" + _EU_COPY, 3,
     "regions[1].name", "name 'eu' is used twice (lines 7 and 10); first at regions[0].name"),
    ("dup-region-instead-of-another", "listed", "  - name: us\n", "  - name: eu\n", 0,
     "regions[1].name", "name 'eu' is used twice (lines 7 and 19); first at regions[0].name"),
    ("dup-datacenter-racks-count", "three", "      - name: dc-b", "      - name: dc-a", 0,
     "regions[0].datacenters[1].name", "name 'dc-a' is used twice (lines 18 and 21); "
                                       "first at regions[0].datacenters[0].name"),
    ("dup-datacenter-copied", "listed", "      - name: dc-b\n", _DC_A_COPY + "      - name: dc-b\n", 0,
     "regions[0].datacenters[1].name", "name 'dc-a' is used twice (lines 9 and 15)"),
    ("dup-datacenter-pasted-over", "listed",
     "      - name: dc-b\n        racks:\n          - name: rb1\n            servers: [b1, b2]\n", _DC_A_COPY, 0,
     "regions[0].datacenters[1].name", "name 'dc-a' is used twice (lines 9 and 15)"),
    ("dup-rack", "listed", "name: rb1", "name: ra1", 0,
     "regions[0].datacenters[1].racks[0].name", "name 'ra1' is used twice (lines 11 and 17)"),
    ("dup-rack-generated", "three", "      - name: dc-c\n        racks: 2\n        serversPerRack: 4",
     "      - name: dc-c\n        racks:\n          - {name: dc-a-r1, servers: 2}", 2,
     "regions[0].datacenters[2].racks[0].name", "name 'dc-a-r1' is used twice (lines 19 and 26); "
                                                "first generated by regions[0].datacenters[0].racks"),
    ("dup-server", "listed", "[b1, b2]", "[b1, a2]", 0,
     "regions[0].datacenters[1].racks[0].servers[1]", "name 'a2' is used twice (lines 12 and 18)"),
    # misspelt keys: one 'did you mean', nothing about the key being missing or about its default
    ("typo-regions", "three", "regions:\n", "region:\n", 0, "region", "did you mean 'regions'?"),
    ("typo-region-name", "three", "  - name: eu-central", "  - nmae: eu-central", 0,
     "regions[0].nmae", "did you mean 'name'?"),
    ("typo-datacenters", "three", "    datacenters:", "    datacenter:", 0,
     "regions[0].datacenter", "did you mean 'datacenters'?"),
    ("typo-datacenter-name", "three", "      - name: dc-b", "      - nme: dc-b", 0,
     "regions[0].datacenters[1].nme", "did you mean 'name'?"),
    ("typo-racks", "three", "        racks: 2", "        rack: 2", 0,
     "regions[0].datacenters[0].rack", "did you mean 'racks'?"),
    ("typo-serversPerRack", "three", "        serversPerRack: 4", "        serverPerRack: 4", 0,
     "regions[0].datacenters[0].serverPerRack", "did you mean 'serversPerRack'?"),
    ("typo-rack-name", "listed", "          - name: rb1", "          - nam: rb1", 0,
     "regions[0].datacenters[1].racks[0].nam", "did you mean 'name'?"),
    ("typo-rack-servers", "listed", "            servers: [b1, b2]", "            server: [b1, b2]", 0,
     "regions[0].datacenters[1].racks[0].server", "did you mean 'servers'?"),
    ("typo-network-rtt", "three", "    sameRegion: 1ms", "    sameRegon: 1ms", 0,
     "network.rtt.sameRegon", "did you mean 'sameRegion'?"),
    ("typo-network-regions", "listed", "network:\n  regions:", "network:\n  region:", 1,
     "network.region", "did you mean 'regions'?"),
    ("typo-network-between", "listed", "    - between: [eu, us]", "    - betwen: [eu, us]", 0,
     "network.regions[0].betwen", "did you mean 'between'?"),
    ("typo-controlPlane", "listed", "controlPlane:", "controlPlan:", 0, "controlPlan", "did you mean 'controlPlane'?"),
    ("typo-members", "listed", "  members: 3\n  placement: [a1, b1, a3]",
     "  membres: 5\n  placement: [a1, b1, a3, a4, b2]", 0, "controlPlane.membres", "did you mean 'members'?"),
    ("typo-etcdTopology", "three", "  placement: spread ",
     "  etcdTopolgy: external\n  etcdPlacement: spread\n  apiServers: 2\n#", 0,
     "controlPlane.etcdTopolgy", "did you mean 'etcdTopology'?"),
    ("typo-controlPlane-capacity", "three", "  members: 3\n", "  members: 3\n  capacity: {cpus: 8, memory: 32Gi}\n", 1,
     "controlPlane.capacity.cpus", "did you mean 'cpu'?"),
    ("typo-etcd", "three", "  members: 3\n",
     "  members: 3\n  etcd:\n    heartbeatIntervl: 50ms\n    electionTimeout: 300ms\n", 2,
     "controlPlane.etcd.heartbeatIntervl", "did you mean 'heartbeatInterval'?"),
    ("typo-leaderElection", "three", "  members: 3\n",
     "  members: 3\n  leaderElection:\n    leaseDuraton: 30s\n    renewDeadline: 20s\n", 2,
     "controlPlane.leaderElection.leaseDuraton", "did you mean 'leaseDuration'?"),
    ("typo-workers", "listed", "workers:", "worker:", 0, "worker", "did you mean 'workers'?"),
    ("typo-pool", "three", "  - pool: general", "  - pol: general", 0, "workers[0].pol", "did you mean 'pool'?"),
    ("typo-count", "listed", "  - pool: ds\n    count: 2", "  - pool: ds\n    cout: 2", 1,
     "workers[1].cout", "did you mean 'count'?"),
    ("typo-capacity", "three", "    capacity: {cpu: 16", "    capacty: {cpu: 16", 0,
     "workers[0].capacty", "did you mean 'capacity'?"),
    ("typo-capacity-memory", "three", "memory: 64Gi, pods", "memroy: 64Gi, pods", 0,
     "workers[0].capacity.memroy", "did you mean 'memory'?"),
    ("typo-workloads", "three", "workloads:\n  - name: web", "workload:\n  - name: web", 0,
     "workload", "did you mean 'workloads'?"),
    ("typo-workload-name", "three", "  - name: web\n", "  - nmae: web\n", 0,
     "workloads[0].nmae", "did you mean 'name'?"),
    ("typo-workload-kind", "listed", "    kind: DaemonSet", "    knd: DaemonSet", 0,
     "workloads[1].knd", "did you mean 'kind'?"),
    ("typo-replicas", "three", "    replicas: 6", "    replcias: 6", 0,
     "workloads[0].replcias", "unknown key 'replcias'; did you mean 'replicas'?"),
    ("typo-minAvailable", "three", "    minAvailable: 4", "    minAvailabel: 4", 0,
     "workloads[0].minAvailabel", "did you mean 'minAvailable'?"),
    ("typo-spread-over", "listed", "spread: {over: datacenter", "spread: {ovr: datacenter", 0,
     "workloads[0].spread.ovr", "did you mean 'over'?"),
    ("typo-failures", "three", "slo:\n", "failures:\n  nod: {mtbf: 90d}\nslo:\n", 1,
     "failures.nod", "did you mean 'node'?"),
    ("typo-failures-shape", "three", "slo:\n", "failures:\n  node: {mtbf: 90d, ttf: {weibull: {shap: 1.3}}}\nslo:\n", 1,
     "failures.node.ttf.weibull.shap", "did you mean 'shape'?"),
    ("typo-kubernetes", "three", "slo:\n", "kubernetes:\n  podStartp: 30s\nslo:\n", 1,
     "kubernetes.podStartp", "did you mean 'podStartup'?"),
    ("typo-slo", "three", "slo:\n", "SLO:\n", 0, "SLO", "did you mean 'slo'?"),
    ("typo-slo-controlPlane", "three", "  controlPlane: 99.99", "  controlPlan: 99.99", 0,
     "slo.controlPlan", "did you mean 'controlPlane'?"),
    ("typo-slo-workloads", "three", "  workloads:\n    web:", "  workload:\n    web:", 0,
     "slo.workload", "did you mean 'workloads'?"),
    ("typo-apiVersion", "three", "apiVersion:", "apiversion:", 0, "apiversion", "did you mean 'apiVersion'?"),
    # invalid values: nothing about what depends on them
    ("invalid-replicas", "three", "    replicas: 6", "    replicas: six", 0,
     "workloads[0].replicas", "must be a whole number, got 'six'"),
    ("zero-replicas", "three", "    replicas: 6", "    replicas: 0", 0, "workloads[0].replicas", "must be"),
    ("invalid-members", "listed", "  members: 3", "  members: 9", 0,
     "controlPlane.members", "must be between 1 and 7, got 9"),
    ("invalid-worker-count", "listed", "  - pool: ds\n    count: 2", "  - pool: ds\n    count: two", 1,
     "workers[1].count", "must be a whole number, got 'two'"),
    ("invalid-workload-kind", "listed", "    kind: DaemonSet", "    kind: DaemonSt", 0,
     "workloads[1].kind", "did you mean 'DaemonSet'?"),
    ("invalid-workload-name", "three", "  - name: web\n", "  - name: 'we b'\n", 0,
     "workloads[0].name", "must not contain blanks"),
    ("invalid-region-name", "listed", "  - name: eu\n", "  - name: 'e u'\n", 0,
     "regions[0].name", "must not contain blanks"),
    ("tag-on-workers", "listed", "workers:", "workers: !pools", 0, "workers", "tags are not allowed: '!pools'"),
    ("tag-on-workloads", "three", "workloads:", "workloads: !apps", 0, "workloads", "tags are not allowed"),
    # references and the network
    ("unknown-server", "listed", "placement: [a1, b1, a3]", "placement: [a1, b1, a9]", 0,
     "controlPlane.placement[2]", "unknown server 'a9'"),
    ("unknown-datacenter", "listed", "{datacenter: us-1}", "{datacenter: us-2}", 0,
     "workers[0].placement.datacenter", "unknown datacenter 'us-2'"),
    ("unknown-slo-workload", "three", "    web: 99.95", "    wbe: 99.95", 0,
     "slo.workloads.wbe", "unknown workload 'wbe' (referenced in slo.workloads.wbe); did you mean 'web'?"),
    ("unknown-region-in-network", "listed", "between: [eu, us]", "between: [eu, usa]", 0,
     "network.regions[0].between[1]", "unknown region 'usa'"),
    ("missing-region-rtt", "listed", "network:\n  regions:\n    - between: [eu, us]\n      rtt: 80ms\n", "",
     "apiVersion", "network", "no RTT between regions 'eu' and 'us'; add {between: [eu, us], rtt: 8ms}"),
    ("missing-region-rtt-new-region", "three", "network:\n", _US_REGION, 3,
     "network", "no RTT between regions 'eu-central' and 'us'"),
]


@pytest.mark.parametrize(("base", "old", "new", "where", "key", "message"),
                         [pytest.param(*case[1:], id=case[0]) for case in ONE_MISTAKE])
def test_one_mistake_gives_one_problem(base: str, old: str, new: str, where: int | str, key: str,
                                       message: str) -> None:
    text = BASES[base]
    assert text.count(old) >= 1, old
    text = text.replace(old, new, 1)
    if isinstance(where, str):
        line = line_of(text, where)
    else:
        line = BASES[base][: BASES[base].index(old)].count("\n") + 1 + where
    problem = only(problems(text))
    assert problem.startswith(f"t.yaml:{line}: {key}: "), problem
    assert message in problem


def test_repeated_name_does_not_hide_independent_problems() -> None:
    """Only what is derived from or placed under a repeated name is silent."""
    text = BASES["three"].replace("      - name: dc-b", "      - name: dc-a", 1)
    text = text.replace("      - name: dc-c\n        racks: 2\n        serversPerRack: 4",
                        "      - name: dc-c\n        racks:\n          - {name: dc-c-r1, servers: [x, x]}", 1)
    found = problems(text)
    assert len(found) == 2, found
    assert "name 'dc-a' is used twice" in found[0] and "name 'x' is used twice (both on line" in found[1]
    # A repeated name may stand for one unknown reference; more unknown names are reported.
    text = BASES["listed"].replace("placement: [a1, b1, a3]", "placement: [a1, b1, a3, zz, yy]", 1)
    text = text.replace("[b1, b2]", "[b1, a2]", 1).replace("  members: 3", "  members: 5", 1)
    found = problems(text)
    assert len(found) == 3, found
    assert "unknown server 'zz'" in found[1] and "unknown server 'yy'" in found[2]


def test_several_independent_misspellings() -> None:
    text = BASES["three"].replace("    replicas: 6", "    replcias: 6", 1).replace("    count: 6", "    cont: 6", 1)
    found = problems(text)
    assert len(found) == 2, found
    assert "did you mean 'count'?" in found[0] and "did you mean 'replicas'?" in found[1]


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


@pytest.mark.parametrize("word, meant", [("zone", "datacenter"), ("topology.kubernetes.io/zone", "datacenter"),
                                         ("hostname", "server"), ("kubernetes.io/hostname", "server"),
                                         ("topology.kubernetes.io/region", "region")])
def test_kubernetes_words_get_the_kchaos_level_they_mean(word, meant) -> None:
    """A Kubernetes user writes `spreadOver: zone` first: the hint names the datacenter level
    and why (issue 20); a misspelling of a kchaos word still wins ('nodes' -> 'node')."""
    text = VALID.replace("kind: Deployment", f"kind: Deployment\n    spreadOver: {word}", 1)
    message = only(problems(text))
    assert f"got '{word}'; did you mean '{meant}'? (" in message, message
    assert "unknown key 'nodes'; did you mean 'node'?" in only(problems(VALID + "failures:\n  nodes: none\n"))


def test_an_integer_beyond_any_float_is_too_large_not_a_traceback() -> None:
    """`cost: <400 digits>` raised OverflowError in the number reader, `cpu: <400 digits>` in
    the quantity reader, `maxNodeUtilization: <400 digits>` in the fraction reader's hint."""
    big = "1" + "0" * 400
    text = edit("    count: 2", f"    count: 2\n    cost: {big}")
    assert only(problems(text)).startswith(f"t.yaml:{line_of(text, 'cost:')}: workers[0].cost: must be at most")
    text = edit("{cpu: 4, memory: 8Gi}", f"{{cpu: {big}, memory: 8Gi}}")
    assert "workers[0].capacity.cpu: must be at most 1,000,000 cores" in only(problems(text))
    # slo.maxNodeUtilization: OverflowError in the hint that divides a percentage by 100
    assert "slo.maxNodeUtilization: must be in (0, 1]" in only(problems(VALID + f"slo: {{maxNodeUtilization: {big}}}\n"))
