"""Traffic to dead endpoints: a Service keeps sending a dead node's pods their share of requests.

A pod whose node dies is still listed, Ready, in its Service's EndpointSlices: nothing on the
node can say otherwise. It leaves them only once the node lifecycle controller, at NotReady,
marks the node's pods NotReady (``monitorNodeHealth`` -> ``MarkPodsNotReady``,
``pkg/controller/nodelifecycle/node_lifecycle_controller.go``, ``pkg/controller/util/node``:
one pod status update per Ready pod, after the node's own status update) and the EndpointSlice
controller and every kube-proxy have caught up (``kubernetes.endpointPropagation``: kube-proxy's
``--iptables-min-sync-period``, 1 s). Those updates go through the node controller's API client,
rate-limited to kube-controller-manager's ``--kube-api-qps`` 20 with ``--kube-api-burst`` 30
(a token bucket per controller client, client-go's ``flowcontrol``): a zone of 3,000 pods takes
about 150 s to mark. Until then each dead endpoint's share of requests fails.

A node that reports again (its kubelet back) updates its pods' status itself: they leave the
endpoints at once. kchaos counts, per workload, the listed endpoints whose pod is not running
(``stale``); the recorder turns stale / (ready + stale) into failed request-seconds while the
workload is up (when it is down every request fails, counted by the pod-level figure).
"""

from __future__ import annotations

from ..timers import ENDPOINTS

#: kube-controller-manager --kube-api-qps and --kube-api-burst defaults.
KCM_API_QPS = 20.0
KCM_API_BURST = 30.0


class Endpoints:
    """Listed endpoints whose pod is not running, per workload, and the API client's bucket."""

    def __init__(self, model, work, timers, recorder):
        self.work, self.timers = work, timers
        self.pod_workload = model.pod_workload
        self.ready_count = work.ready_count  # the controllers' live counts
        self.endpoints = recorder.endpoints
        self.propagation = model.cluster.kubernetes.endpoint_propagation
        self.stale: set[int] = set()
        self.stale_of = [0] * len(model.cluster.workloads)
        self.on_node: dict[int, list[int]] = {}  # node -> its pods that died listed, not yet marked NotReady
        self.tokens, self.last = KCM_API_BURST, 0.0
        self.groups: dict[int, list[int]] = {}  # ENDPOINTS timer key -> the pods it unlists

    def died(self, t: float, node: int, pods: list[int]) -> None:
        """``pods`` stopped running with ``node``, still listed as Ready endpoints."""
        self.on_node[node] = pods
        self.stale.update(pods)
        self._moved(t, pods, 1)

    def _moved(self, t: float, pods, delta: int) -> None:
        """``pods`` joined (``delta`` 1) or left (-1) the stale endpoints: their workloads'
        counts, then one report each to the recorder."""
        stale_of, pod_workload = self.stale_of, self.pod_workload
        for p in pods:
            stale_of[pod_workload[p]] += delta
        for w in {pod_workload[p] for p in pods}:
            self.endpoints(t, w, stale_of[w], self.ready_count[w])

    def node_not_ready(self, t: float, node: int, ready_pods: int) -> None:
        """NotReady: the node's status, then one status update per pod it still shows Ready
        (its stale pods, or the ``ready_pods`` of a cut-off node), each when the client's
        token bucket allows; each stale pod leaves the endpoints ``propagation`` later."""
        stale = self.on_node.pop(node, ())
        calls = 1 + len(stale) + ready_pods
        self.tokens = min(KCM_API_BURST, self.tokens + KCM_API_QPS * (t - self.last))
        self.last = t
        first = self.tokens  # calls 1 .. first go at once, the rest one per 1/QPS
        self.tokens -= calls
        if not stale:
            return
        if len(stale) + 1 <= first:  # the common case: every update within the burst
            key = self.timers.seq + 1
            self.timers.push(t + self.propagation, ENDPOINTS, key)
            self.groups[key] = stale
            return
        at_key: dict[float, int] = {}
        for i, p in enumerate(sorted(stale), 2):  # call 1 is the node's own status
            at = t + max(0.0, (i - first) / KCM_API_QPS) + self.propagation
            key = at_key.get(at)
            if key is None:
                key = at_key[at] = self.timers.seq + 1
                self.timers.push(at, ENDPOINTS, key)
                self.groups[key] = []
            self.groups[key].append(p)

    def on_unlist(self, t: float, key: int, _b: int = 0) -> None:
        """An ENDPOINTS timer: these pods are out of every kube-proxy's rules now."""
        self.unlist(t, self.groups.pop(key))

    def unlist(self, t: float, pods) -> None:
        """``pods`` leave the endpoints (those still listed)."""
        stale = self.stale
        gone = [p for p in pods if p in stale]
        if gone:
            stale.difference_update(gone)
            self._moved(t, gone, -1)

    def node_reports(self, t: float, node: int) -> None:
        """The kubelet is back: it updates its pods' status itself, so none stays listed."""
        pods = self.on_node.pop(node, None)
        if pods:
            self.unlist(t, pods)
