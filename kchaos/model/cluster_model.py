"""What the engine computes once per cluster and reuses across histories.

:class:`ClusterModel` holds the nodes under each failure domain, etcd members and
API servers, the pods of every workload and their initial placement, and caches
for the region partition given a set of cut links, the partition that holds quorum
given the dead members, and commit latency per leader and membership. Nothing in
it changes while a history plays, so one model serves every history (and every
worker process).
"""

from __future__ import annotations

import numpy as np

from .cluster import Cluster
from .controlplane.raft import ElectionModel, commit_latency
from .scheduling.batch import schedule_pass
from .scheduling.placement import refresh_scores
from .scheduling.scheduler import Placement, Scheduler, placement_rng

#: Hottest-node utilisation above which load counts as too high, unless the SLO sets one.
DEFAULT_UTILIZATION_LIMIT = 0.9


class ClusterModel:
    """Everything about a cluster the engine computes once and reuses."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        nodes = cluster.nodes
        self.n_nodes = len(nodes)
        # Nodes affected by each failure instance (physical domains only).
        under: dict[int, list[int]] = {d.index: [] for d in cluster.domains}
        for n in nodes:
            for d in (n.domain, *n.ancestors):
                under[d].append(n.index)
        self.nodes_under = {d: tuple(v) for d, v in under.items() if cluster.domains[d].kind != "regionLink"}
        self.link_bit = {d.index: 1 << i for i, d in enumerate(cluster.domains_of_kind("regionLink"))}
        self.links = [(d.index, d.regions) for d in cluster.domains_of_kind("regionLink")]
        self.regions = [d.index for d in cluster.domains_of_kind("region")]

        # etcd members and API servers.
        self.member_nodes = list(cluster.members)
        self.member_of_node = {n: i for i, n in enumerate(self.member_nodes)}
        self.member_region = [nodes[n].region for n in self.member_nodes]
        self.quorum = cluster.quorum
        m = len(self.member_nodes)
        self.rtt = np.array([[cluster.rtt(a, b) for b in self.member_nodes] for a in self.member_nodes]) \
            if m else np.zeros((0, 0))
        self.election = ElectionModel(self.rtt, cluster.etcd)
        self.api_nodes = list(cluster.apiservers)
        self.cp_nodes = set(self.member_nodes) | set(self.api_nodes)
        #: The failure instances above an etcd member (its node, server, rack, datacenter, region).
        self.member_domains = {d for n in self.member_nodes
                               for d in (nodes[n].domain, *nodes[n].ancestors)}
        #: The nodes workloads run on (compact control-plane nodes included), not counting the
        #: machines an autoscaler may add (``standby``): DaemonSets, upgrades and counts read these.
        self.workers = [n.index for n in nodes if n.schedulable and not n.standby]
        #: Every node a pod may ever land on, added machines included (the hottest-node figure).
        self.worker_mask = np.array([n.schedulable for n in nodes], dtype=bool)
        self.standby = [n.index for n in nodes if n.standby]
        self.daemon_nodes = [i for i in self.workers if nodes[i].ready and not nodes[i].cordoned]
        self.all_usable = len(self.daemon_nodes) == len(self.workers)
        #: Failure instance -> workloads it takes below minAvailable on its own for as long as it
        #: is down (set by the analysis from the blast radius; lets statistics subtract the
        #: exactly known part of each workload's down time).
        self.cover_of_domain: dict[int, tuple[int, ...]] = {}
        self.blast = None  # the cached single-domain responses (kchaos.model.scheduling.response.BlastRadius)
        self.honor_blast = None  # the same with every DoNotSchedule spread honouring taints (analysis.advisories)
        self._partition_cache: dict[tuple[int, int], tuple] = {}
        self._components_cache: dict[int, dict[int, int]] = {}
        self._commit_cache: dict[tuple, float] = {}

        # Pods: one entry per replica; DaemonSets get one pod per worker, pinned to it.
        self.pod_workload: list[int] = []
        self.pod_pin: list[int] = []
        self.workload_pods: list[list[int]] = []
        for w, wl in enumerate(cluster.workloads):
            ids = []
            if wl.kind == "DaemonSet":  # not on nodes imported NotReady, cordoned or tainted
                for node in self.workers if self.all_usable else self.daemon_nodes:
                    ids.append(len(self.pod_workload))
                    self.pod_workload.append(w)
                    self.pod_pin.append(node)
            else:
                for _ in range(wl.replicas):
                    ids.append(len(self.pod_workload))
                    self.pod_workload.append(w)
                    self.pod_pin.append(-1)
            self.workload_pods.append(ids)
        self.n_pods = len(self.pod_workload)
        self.workload_desired = [len(p) for p in self.workload_pods]
        self.workload_required = [wl.required(d) for wl, d in zip(cluster.workloads, self.workload_desired)]
        index = {wl.name: w for w, wl in enumerate(cluster.workloads)}
        #: Per workload, the workloads it depends on directly (dependsOn; CoreDNS).
        self.workload_needs = [tuple(index[name] for name in wl.depends_on) for wl in cluster.workloads]
        self.is_daemon = [cluster.workloads[w].kind == "DaemonSet" for w in self.pod_workload]
        self.deployment_pods = [p for p, w in enumerate(self.pod_workload) if cluster.workloads[w].kind == "Deployment"]
        self.other_pods = [p for p, w in enumerate(self.pod_workload) if cluster.workloads[w].kind != "Deployment"]
        self.is_stateful = [cluster.workloads[w].kind == "StatefulSet" for w in self.pod_workload]
        self.scope_level = [cluster.workloads[w].volume_scope for w in self.pod_workload]
        self.scheduler = Scheduler(cluster, self.pod_workload)
        #: The nodes a rollout's fresh placement may put Deployment pods on: the workers, and the
        #: control-plane nodes when a Deployment tolerates their taint (CoreDNS). A rollout waits
        #: until all of them are up and Ready.
        tolerant = any(wl.kind == "Deployment" and wl.tolerates_control_plane for wl in cluster.workloads)
        workers = np.zeros(self.n_nodes, dtype=bool)
        workers[self.workers] = True
        self.rollout_mask = workers | (self.scheduler.is_cp_kube if tolerant else False)
        self.rollout_nodes = np.flatnonzero(self.rollout_mask).tolist()
        self.baseline, self.baseline_scope = self._initial_placement()
        util = self.scheduler.utilization(self.baseline)
        self.baseline_hottest = float(util[self.worker_mask].max()) if self.workers else 0.0
        slo_limit = cluster.slo.max_node_utilization
        self.utilization_limit = slo_limit if slo_limit is not None else DEFAULT_UTILIZATION_LIMIT

    def with_dependents(self, down) -> set[int]:
        """The workloads in ``down`` and every workload that depends on one of them, transitively."""
        out = set(down)
        changed = bool(out)
        while changed:
            changed = False
            for w, needs in enumerate(self.workload_needs):
                if w not in out and any(d in out for d in needs):
                    out.add(w)
                    changed = True
        return out

    def initial_pod_names(self) -> list[str]:
        """Readable pod names: web-0.. for replicas, agent-<node> for DaemonSet pods."""
        ordinal = {p: i for pods in self.workload_pods for i, p in enumerate(pods)}  # not list.index: n^2
        names = []
        for p, w in enumerate(self.pod_workload):
            wl = self.cluster.workloads[w]
            if self.pod_pin[p] >= 0:
                names.append(f"{wl.name}-{self.cluster.nodes[self.pod_pin[p]].name}")
            else:
                names.append(f"{wl.name}-{ordinal[p]}")
        return names

    # -- placement ---------------------------------------------------------------
    def scope_of(self, pod: int, node: int) -> int:
        """The volume scope domain a StatefulSet pod gets when first bound to ``node``."""
        level = self.scope_level[pod]
        if level is None:
            return -1
        n = self.cluster.nodes[node]
        return {"server": n.server, "rack": n.rack, "datacenter": n.datacenter, "region": n.region,
                "node": n.domain}[level]

    def _initial_placement(self) -> tuple[Placement, list[int]]:
        """All nodes up: DaemonSets first (they reserve their node), then workloads in file order."""
        sch = self.scheduler
        pl = sch.empty_placement(self.n_pods)
        scope = [-1] * self.n_pods
        order = sorted(range(self.n_pods), key=lambda p: (not self.is_daemon[p], p))
        for p, node in schedule_pass(sch, pl, order, self.pod_pin, scope, placement_rng(0)):
            if node >= 0:
                scope[p] = self.scope_of(p, node)
        refresh_scores(sch, pl)
        return pl, scope

    # -- control plane lookups (cached) ----------------------------------------------
    def components(self, cut: int) -> dict[int, int]:
        """Region -> connected component id, given the bitmask of cut region links."""
        comp = self._components_cache.get(cut)
        if comp is None:
            parent = {r: r for r in self.regions}

            def find(r):
                while parent[r] != r:
                    parent[r] = parent[parent[r]]
                    r = parent[r]
                return r

            for d, (a, b) in self.links:
                if not cut & self.link_bit[d]:
                    parent[find(a)] = find(b)
            comp = {r: find(r) for r in self.regions}
            self._components_cache[cut] = comp
        return comp

    def quorum_partition(self, alive: int, cut: int) -> tuple:
        """(live members of the partition holding quorum, its component) or (None, None)."""
        key = (alive, cut)
        hit = self._partition_cache.get(key)
        if hit is None:
            comp = self.components(cut)
            groups: dict[int, list[int]] = {}
            for i, region in enumerate(self.member_region):
                if alive >> i & 1:
                    groups.setdefault(comp[region], []).append(i)
            hit = (None, None)
            for c, members in groups.items():
                if len(members) >= self.quorum:
                    hit = (tuple(members), c)
                    break
            self._partition_cache[key] = hit
        return hit

    def commit_latency(self, leader: int, live: tuple) -> float:
        """Seconds a write takes to commit with ``leader`` and the ``live`` members (cached)."""
        key = (leader, live)
        lat = self._commit_cache.get(key)
        if lat is None:
            lat = commit_latency(self.rtt, leader, live, self.quorum, self.cluster.etcd.fsync)
            self._commit_cache[key] = lat
        return lat
