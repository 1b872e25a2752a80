"""The changes a platform team can make, each a small edit of the topology document with a cost.

A :class:`Move` knows the key it changes (``path``, as error messages spell it), the value
before and after, what it costs, how many units it adds (workers, replicas, members: the
minimisation takes them away one by one) and its edits (dotted override paths, see
:mod:`.layout`). Costs are in the unit of the pools' ``cost`` (default: one per node):

* a worker costs its pool's ``cost``; a bigger node costs it in proportion to the growth of
  its larger resource (doubling a 16-cpu node costs one more node of the pool);
* an etcd member added costs one node (:data:`MEMBER_COST`); moving one costs nothing;
* a replica costs the share of a node its requests take (of the pool where that share is
  cheapest);
* rule changes (spread, budgets, a pool's placement) cost nothing: only configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model.cluster import Cluster
from ..topology.loader import DELETE
from ..topology.units import format_cpu, format_memory, format_setting as show

#: What one etcd member (a control-plane node) costs when added.
MEMBER_COST = 1.0


@dataclass(frozen=True)
class Move:
    """One change to the topology."""

    kind: str  # workers | node-size | members | replicas | spread | pool-placement
    subject: str  # the pool, workload or "control plane"
    path: str  # the key, e.g. workers[0].count
    before: Any
    after: Any
    cost: float
    edits: tuple[tuple[str, Any], ...]
    units: int = 0  # workers, replicas or members added
    why: str = ""  # the target it serves (set by the search)
    gain: str = ""  # what it does for that target
    fewer: str = ""  # minimality: what one unit fewer (or no move) misses
    extra: dict = field(default_factory=dict, compare=False)

    def label(self) -> str:
        return f"{self.path}: {show(self.before)} -> {show(self.after)}"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "path": self.path, "from": self.before,
                "to": self.after, "cost": round(self.cost, 4), "units": self.units, "why": self.why,
                "gain": self.gain, "one_fewer": self.fewer or None,
                "saved_minutes_per_year": self.extra.get("saved_minutes_per_year")}


def _pool_entry(doc: dict, i: int) -> dict:
    return doc["workers"][i]


def add_workers(doc: dict, cluster: Cluster, i: int, count: int) -> Move:
    entry = _pool_entry(doc, i)
    before = int(entry["count"])
    cost = cluster.pool_cost.get(entry["pool"], 1.0)
    return Move("workers", entry["pool"], f"workers[{i}].count", before, count, (count - before) * cost,
                ((f"workers.{i}.count", count),), units=count - before)


def resize_nodes(doc: dict, cluster: Cluster, i: int, factor: float) -> Move:
    """Every node of pool ``i`` ``factor`` times as large (cpu and memory)."""
    entry = _pool_entry(doc, i)
    node = next(n for n in cluster.nodes if n.pool == entry["pool"])
    cpu, mem = node.capacity.cpu * factor, node.capacity.memory * factor
    cpu_text: Any = int(round(cpu)) if abs(cpu - round(cpu)) < 1e-9 else format_cpu(cpu)
    before = {"cpu": entry["capacity"].get("cpu"), "memory": entry["capacity"].get("memory")}
    after = {"cpu": cpu_text, "memory": format_memory(mem)}
    cost = int(entry["count"]) * cluster.pool_cost.get(entry["pool"], 1.0) * (factor - 1.0)
    return Move("node-size", entry["pool"], f"workers[{i}].capacity", before, after, cost,
                ((f"workers.{i}.capacity.cpu", after["cpu"]), (f"workers.{i}.capacity.memory", after["memory"])),
                extra={"factor": factor})


def set_spread(doc: dict, cluster: Cluster, i: int, key: str, value: Any) -> Move:
    """One field of workload ``i``'s PodTopologySpread constraint (``spreadOver`` becomes ``spread``)."""
    entry = doc["workloads"][i]
    wl = cluster.workloads[i]
    sp = wl.spread
    current = {"over": sp.over, "maxSkew": sp.max_skew, "whenUnsatisfiable": sp.when_unsatisfiable,
               "nodeTaintsPolicy": sp.node_taints_policy}
    if "spread" in entry:
        edits: tuple = ((f"workloads.{i}.spread.{key}", value),)
    else:  # the shorthand cannot say it: write the full form
        full = {"over": sp.over, key: value} if key != "over" else {"over": value}
        edits = ((f"workloads.{i}.spreadOver", DELETE), (f"workloads.{i}.spread", full))
    return Move("spread", wl.name, f"workloads[{i}].spread.{key}", current[key], value, 0.0, edits)


def set_replicas(doc: dict, cluster: Cluster, i: int, replicas: int, keep: int) -> Move:
    """Workload ``i`` at ``replicas``, its budget (``minAvailable``) keeping ``keep`` pods."""
    wl = cluster.workloads[i]
    entry = doc["workloads"][i]
    per_pod = min((max(wl.cpu / n.capacity.cpu, wl.memory / n.capacity.memory) * cluster.pool_cost.get(n.pool, 1.0)
                   for n in cluster.nodes if n.schedulable), default=0.0)
    added = replicas - wl.replicas
    edits = [(f"workloads.{i}.replicas", replicas)]
    if entry.get("minAvailable") != keep:
        edits.append((f"workloads.{i}.minAvailable", keep))
    return Move("replicas", wl.name, f"workloads[{i}].replicas", wl.replicas, replicas, added * per_pod,
                tuple(edits), units=added, extra={"minAvailable": keep, "min_before": entry.get("minAvailable")})


def place_members(doc: dict, cluster: Cluster, servers: list[str], moved: int) -> Move:
    """The etcd members on ``servers`` (explicit placement), their count ``len(servers)``."""
    key = "etcdPlacement" if cluster.etcd_topology == "external" else "placement"
    before_servers = [cluster.domains[cluster.nodes[m].server].name for m in cluster.members]
    edits: list[tuple[str, Any]] = [(f"controlPlane.{key}", list(servers))]
    if len(servers) != len(cluster.members):
        edits.append(("controlPlane.members", len(servers)))
    added = len(servers) - len(cluster.members)
    return Move("members", "control plane", f"controlPlane.{key}", before_servers, list(servers),
                max(0, added) * MEMBER_COST, tuple(edits), units=max(0, added),
                extra={"members": (len(cluster.members), len(servers)), "moved": moved})


def place_pool(doc: dict, i: int, placement: Any) -> Move:
    entry = _pool_entry(doc, i)
    return Move("pool-placement", entry["pool"], f"workers[{i}].placement", entry.get("placement", "spread"),
                placement, 0.0, ((f"workers.{i}.placement", placement),))


def combine(moves: list[Move]) -> tuple[tuple[str, Any], ...]:
    """The edits of several moves, in order."""
    return tuple(e for m in moves for e in m.edits)
