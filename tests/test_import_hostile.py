"""`kchaos import` and `run -f` under hostile input: nothing injected into the written
topology, every problem told against the user's file and line, bounded reads, no traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from kchaos.cli import main
from kchaos.topology import load_topology
from kchaos.topology.yaml_writer import Note, to_yaml

from .kube_fixtures import three_zone_nodes, write_nodes

WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
       "spec": {"replicas": 6, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
           "containers": [{"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}],
           "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                          "whenUnsatisfiable": "DoNotSchedule"}]}}}}
PDB = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb", "namespace": "shop"},
       "spec": {"minAvailable": 4, "selector": {"matchLabels": {"app": "web"}}}}
EXAMPLE = Path(__file__).resolve().parent.parent / "topologies" / "three-workers.yaml"
INJECTED = "\n  - {name: injected, kind: Deployment, replicas: 50}\n    #"


@pytest.fixture
def nodes(tmp_path):
    path = tmp_path / "nodes.json"
    write_nodes(path)
    return str(path)


def _import(tmp_path, nodes_file, *objects, out="o.yaml") -> tuple[int, str]:
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"kind": "List", "items": list(objects)}, indent=2))
    code = main(["import", "--nodes", nodes_file, "-f", str(manifest), "-o", str(tmp_path / out)])
    return code, str(manifest)


def _workloads(path) -> list[str]:
    return [w["name"] for w in yaml.safe_load(open(path)).get("workloads") or []]


@pytest.mark.parametrize("where", ["pdb-name", "pdb-namespace", "whenUnsatisfiable", "name", "label"])
def test_manifest_fields_never_inject_yaml(tmp_path, nodes, capsys, where):
    web, pdb = copy.deepcopy(WEB), copy.deepcopy(PDB)
    if where == "pdb-name":
        pdb["metadata"]["name"] += INJECTED
    elif where == "pdb-namespace":
        pdb["metadata"]["namespace"] = web["metadata"]["namespace"] = "shop" + INJECTED
    elif where == "whenUnsatisfiable":
        web["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["whenUnsatisfiable"] += "}" + INJECTED
    elif where == "name":
        web["metadata"]["name"] += INJECTED
    else:
        web["spec"]["template"]["metadata"]["labels"]["app"] += INJECTED
    code, manifest = _import(tmp_path, nodes, web, pdb)
    err = capsys.readouterr().err
    assert code in (0, 2) and "Traceback" not in err
    if code == 2:
        assert err.startswith(f"error: {manifest}:") and not (tmp_path / "o.yaml").exists()
    else:
        text = (tmp_path / "o.yaml").read_text()
        assert _workloads(tmp_path / "o.yaml") == ["web"] and "injected" not in text.replace("\\x0a  - {name: injected", "")
        load_topology(tmp_path / "o.yaml")


def test_the_writer_keeps_every_value_on_its_line():
    nasty = ["a\nb: c", "}\n  - {x: 1}", "#", "- item", "\x1b]0;title\x07", "1e3", "true", "null", "'\"", "\u2028",
             "\x85", "tab\there", "😀", "a: b", "[1]", "{a}", "*alias", "&anchor", "!tag", "%TAG", "---", "..."]
    data = {"metadata": {"name": "n", "description": "\n".join(nasty)},
            "workloads": [Note({"name": s, "requests": {"cpu": s}}, above=(s,), after=s) for s in nasty]}
    text = to_yaml(data, header=nasty, footer=nasty)  # reads itself back; raises otherwise
    assert len(yaml.safe_load(text)["workloads"]) == len(nasty)
    assert "\x1b" not in text and "\x07" not in text


def test_an_emoji_or_escaped_label_imports(tmp_path, capsys):
    data = three_zone_nodes()
    for item in data["items"]:
        if item["metadata"]["labels"]["topology.kubernetes.io/zone"] == "eu-west-1a":
            item["metadata"]["labels"]["topology.kubernetes.io/zone"] = "zone-😀"
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(data, indent=2))  # ensure_ascii: "\ud83d\ude00", which YAML 1.1 cannot read
    assert main(["import", "--nodes", str(path), "-o", str(tmp_path / "o.yaml")]) == 0
    names = {d.name for d in load_topology(tmp_path / "o.yaml").domains}
    assert "zone-😀" in names


def test_two_regions_get_a_default_round_trip_with_a_todo(tmp_path, capsys):
    data = three_zone_nodes()
    for i, item in enumerate(data["items"]):
        item["metadata"]["labels"]["topology.kubernetes.io/region"] = f"region-{i % 2}"
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(data))
    assert main(["import", "--nodes", str(path), "-o", str(tmp_path / "o.yaml")]) == 0
    text = (tmp_path / "o.yaml").read_text()
    regions = [d.index for d in load_topology(tmp_path / "o.yaml").domains if d.kind == "region"]
    assert len(regions) == 2
    assert yaml.safe_load(text)["network"]["regions"] == [{"between": ["region-0", "region-1"], "rtt": "50ms"}]
    line = next(x for x in text.splitlines() if "regions:" in x and "TODO" in x)
    assert "50ms" in line


@pytest.mark.parametrize("field,value,message", [
    ("cpu", str(2**64), "must be at most 1,000,000 cores"),
    ("cpu", "1e24", "must be at most 1,000,000 cores"),
    ("memory", "1e308", "must be at most 1Pi"),
    ("pods", "²", "must be a whole number"),
    ("cpu", "0", "must be a positive quantity"),
    pytest.param("pods", "1" * 5000, "must be at most 1000000, got a 5,000-digit number",
                 id="pods-5000-digits"),  # int() refused the digits: ValueError
])
def test_bad_allocatable_is_blamed_on_the_nodes_file_line(tmp_path, capsys, field, value, message):
    data = three_zone_nodes()
    data["items"][4]["status"]["allocatable"][field] = value
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(data, indent=2))
    assert main(["import", "--nodes", str(path), "-o", str(tmp_path / "o.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and f"items[4].status.allocatable.{field}: {message}" in err
    line = int(err.split(f"{path}:")[1].split(":")[0])
    assert f'"{field}": ' in path.read_text().splitlines()[line - 1]
    assert "o.yaml" not in err and not (tmp_path / "o.yaml").exists()


def test_a_value_the_topology_refuses_is_blamed_on_its_manifest(tmp_path, nodes, capsys):
    pdb = copy.deepcopy(PDB)
    pdb["spec"]["minAvailable"] = 10
    code, manifest = _import(tmp_path, nodes, WEB, pdb)
    err = capsys.readouterr().err
    assert code == 2 and f"{manifest}:" in err and "spec.minAvailable: must be at most replicas (6)" in err
    assert "o.yaml" not in err


@pytest.mark.parametrize("edit", [
    lambda w: w.update(spec="x"),
    lambda w: w["spec"]["template"]["spec"]["containers"][0]["resources"].update(requests=[1, 2]),
    lambda w: w["spec"]["template"]["metadata"].update(labels=["app"]),
    lambda w: w["spec"]["template"]["spec"]["topologySpreadConstraints"][0].update(maxSkew="abc"),
    lambda w: w["spec"]["template"]["spec"]["topologySpreadConstraints"][0].update(maxSkew=float("nan")),
    lambda w: w["spec"].update(replicas=10**30),
    lambda w: w["spec"].update(replicas=True),
    lambda w: w.update(metadata=[1]),
    lambda w: w["spec"]["template"]["spec"].update(containers="abc"),
    lambda w: w["spec"]["template"].update(spec=None) or w["spec"].update(template=[]),
    # a term's labelSelector of the wrong shape (found by the fuzz campaign: matchLabels: -1)
    lambda w: w["spec"]["template"]["spec"].update(affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": -1}}]}}),
    lambda w: w["spec"]["template"]["spec"].update(affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname",
             "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": 3}]}}]}}),
    lambda w: w["spec"]["template"]["spec"].update(affinity={"podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 5, "podAffinityTerm": {
            "topologyKey": "kubernetes.io/hostname",
            "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Has"}]}}}]}}),
    # volumes of the wrong shape (found by the fuzz campaign)
    lambda w: w["spec"]["template"]["spec"].update(volumes=[{"name": "v", "persistentVolumeClaim": 7}]),
    lambda w: w["spec"]["template"]["spec"].update(volumes=[{"persistentVolumeClaim": {"claimName": ["x"]}}]),
    lambda w: w.update(kind="StatefulSet") or w["spec"].update(volumeClaimTemplates=[{"spec": [1]}]),
    lambda w: w.update(kind="StatefulSet") or w["spec"].update(volumeClaimTemplates=[{"spec": {"accessModes": 5}}]),
    # wrong-typed fields Kubernetes refuses, read as text or left out before (exit 0)
    lambda w: w["spec"]["template"]["metadata"]["labels"].update(app=["web"]),
    lambda w: w.update(kind="StatefulSet") or w["spec"].update(volumeClaimTemplates=[{"spec": {"accessModes": [[1]]}}]),
    lambda w: w["spec"]["template"]["spec"].update(affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "namespaces": [["shop"]],
             "labelSelector": {"matchLabels": {"app": "web"}}}]}}),
    lambda w: w["spec"]["template"]["spec"].update(affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "namespaceSelector": 5,
             "labelSelector": {"matchLabels": {"app": "web"}}}]}}),
    lambda w: w["spec"]["template"]["spec"].update(affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname",
             "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": [{"a": 1}]}]}}]}}),
    # an integer beyond any float (OverflowError in the quantity reader)
    lambda w: w["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].update(cpu=10**400),
    lambda w: w["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].update(memory=-(10**400)),
])
def test_manifests_of_the_wrong_shape_exit_2_with_file_and_line(tmp_path, nodes, capsys, edit):
    web = copy.deepcopy(WEB)
    edit(web)
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(web, indent=2))
    for args in (["import", "--nodes", nodes], ["run", str(EXAMPLE), "-n", "10", "-q"]):
        assert main(args + ["-f", str(manifest)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {manifest}:") and "Traceback" not in err


@pytest.mark.parametrize("edit,at", [
    (lambda p, c: p["spec"]["selector"]["matchLabels"].update(app=["web"]), "items[1].spec.selector.matchLabels.app"),
    (lambda p, c: p["spec"].update(minAvailable=1.5), "items[1].spec.minAvailable"),  # one problem, one message
    (lambda p, c: c.update(metadata=[1]), "items[2].metadata"),  # a claim's problems were dropped
    (lambda p, c: c["spec"].update(accessModes=5), "items[2].spec.accessModes"),
    (lambda p, c: c["spec"].update(accessModes=[["ReadWriteOnce"]]), "items[2].spec.accessModes[0]"),
])
def test_budgets_and_claims_of_the_wrong_shape_exit_2(tmp_path, nodes, capsys, edit, at):
    web, pdb = copy.deepcopy(WEB), copy.deepcopy(PDB)
    web["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "shop"},
             "spec": {"accessModes": ["ReadWriteMany"]}}
    edit(pdb, claim)
    code, manifest = _import(tmp_path, nodes, web, pdb, claim)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {manifest}:") and f": {at}: must be " in err
    assert len(err.splitlines()) == 1, err


@pytest.mark.parametrize("edit,at,needle", [
    (lambda n: n["spec"].update(taints=5), "spec.taints", None),
    (lambda n: n["spec"].update(taints=[{"key": ["a"], "effect": "NoSchedule"}]), "spec.taints[0].key", None),
    (lambda n: n["spec"].update(unschedulable="yes"), "spec.unschedulable", None),
    (lambda n: n["spec"].update(providerID=["aws:///i-1"]), "spec.providerID", None),
    (lambda n: n["status"].update(conditions=-1), "status.conditions", None),
    (lambda n: n["status"].update(conditions=[{"type": "Ready", "status": True}]), "status.conditions[0].status", None),
    (lambda n: n["status"].update(addresses=5), "status.addresses", None),
    (lambda n: n["status"].update(addresses=[5]), "status.addresses[0]", "5"),
    (lambda n: n["metadata"].update(annotations=["a"]), "metadata.annotations", None),
    (lambda n: n["metadata"]["labels"].update({"eks.amazonaws.com/nodegroup": ["ng"]}),
     "metadata.labels.eks.amazonaws.com/nodegroup", '"eks.amazonaws.com/nodegroup"'),
    (lambda n: n.update(status=5), "status", None),
])
def test_nodes_of_the_wrong_shape_exit_2_with_file_and_line(tmp_path, capsys, edit, at, needle):
    """Found by the fuzz campaign (``conditions: -1``: TypeError) and by hand: each wrong-typed
    field of a Node is one message at its line, never a traceback nor a value read as text."""
    data = three_zone_nodes()
    data["items"][4].setdefault("spec", {})
    edit(data["items"][4])
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(data, indent=2))
    assert main(["import", "--nodes", str(path), "-o", str(tmp_path / "o.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and f": items[4].{at}: must be " in err
    assert len(err.splitlines()) == 1, err
    line = int(err.split(f"{path}:")[1].split(":")[0])
    assert (needle or f'"{at.rpartition(".")[2]}"') in path.read_text().splitlines()[line - 1]


def test_a_json_number_of_thousands_of_digits_is_a_json_error(tmp_path, capsys):
    text = json.dumps(three_zone_nodes(), indent=2).replace('"7910m"', "1" + "0" * 5000, 1)
    path = tmp_path / "nodes.json"
    path.write_text(text)
    assert main(["import", "--nodes", str(path)]) == 2
    err = capsys.readouterr().err
    line = int(err.split(f"{path}:")[1].split(":")[0])
    assert "not valid JSON: a number of more digits" in err and "0" * 5000 in text.splitlines()[line - 1]


@pytest.mark.parametrize("content,message", [
    ("apiVersion: v1\nkind: Deployment\n".encode("utf-16"), "is UTF-16 encoded"),
    ("apiVersion: v1\nkind: Deployment\n".encode("utf-32"), "is UTF-32 encoded"),
    ("apiVersion: v1\nkind: Deployment\n".encode("utf-16-le"), "is UTF-16 or UTF-32 encoded"),
    ("kind: Deployment\nmetadata: {name: wéb}\n".encode("latin-1"), "is not UTF-8 text"),
    (b"", None),
])
def test_undecodable_manifests_exit_2(tmp_path, nodes, capsys, content, message):
    manifest = tmp_path / "m.yaml"
    manifest.write_bytes(content)
    code = main(["import", "--nodes", nodes, "-f", str(manifest)])
    err = capsys.readouterr().err
    if message is None:  # an empty manifest file holds nothing: the import goes on
        assert code == 0
    else:
        assert code == 2 and message in err and err.startswith(f"error: {manifest}")


@pytest.mark.parametrize("content,message", [
    ("", "is empty; expected the output of `kubectl get nodes -o json`"),
    ("# nothing\n", "is empty; expected the output of `kubectl get nodes -o json`"),
    ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ('{"kind": "List", "items": [\n  {"kind": "Node",}\n]}', ":2: not valid JSON"),
], ids=["empty", "comment", "deep", "broken"])
def test_bad_nodes_files_name_the_problem(tmp_path, capsys, content, message):
    path = tmp_path / "nodes.json"
    path.write_text(content)
    assert main(["import", "--nodes", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_devices_and_huge_inputs_stop_at_the_limit(tmp_path, nodes, capsys):
    assert main(["import", "--nodes", "/dev/zero"]) == 2
    assert "larger than 256 MB" in capsys.readouterr().err
    assert main(["import", "--nodes", nodes, "-f", "/dev/zero"]) == 2
    assert "larger than 256 MB" in capsys.readouterr().err
    assert main(["import", "--nodes", nodes, "-f", str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_too_many_nodes_is_one_message(tmp_path, capsys):
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps({"kind": "List", "items": [{}] * 20_001}))
    assert main(["import", "--nodes", str(path)]) == 2
    assert "items: holds 20,001 objects; kchaos handles at most 20,000 nodes" in capsys.readouterr().err


def test_a_template_in_a_mapping_position_is_left_out_as_helm(tmp_path, nodes, capsys):
    """`replicas: {{ .Values.replicas }}` is valid YAML (a flow mapping with a mapping for its
    key): it was refused as a key problem instead of being named an unrendered Helm template."""
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump(WEB, sort_keys=False).replace("replicas: 6", "replicas: {{ .Values.replicas }}")
                        + "---\n" + yaml.safe_dump({**WEB, "metadata": {"name": "api", "namespace": "shop"}}))
    assert main(["import", "--nodes", nodes, "-f", str(manifest), "-o", str(tmp_path / "o.yaml")]) == 0
    assert "a Helm template not rendered" in capsys.readouterr().err
    assert _workloads(tmp_path / "o.yaml") == ["api"]


def test_a_manifest_nested_as_deep_as_json_allows_imports(tmp_path, nodes, capsys):
    """A field nested 600 deep (JSON's parser takes up to ~1,000) raised RecursionError in the
    Helm-template search; it is a field kchaos does not read."""
    web = copy.deepcopy(WEB)
    deep: object = "x"
    for _ in range(600):
        deep = [deep]
    web["spec"]["template"]["spec"]["extra"] = deep
    code, _ = _import(tmp_path, nodes, web)
    assert code == 0 and _workloads(tmp_path / "o.yaml") == ["web"]
