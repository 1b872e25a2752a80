"""The add-ons a cluster's installer deploys, which every workload leans on: kubeadm's CoreDNS.

kubeadm deploys CoreDNS as ``cmd/kubeadm/app/phases/addons/dns/manifests.go``
(``CoreDNSDeployment``) writes it: a Deployment ``coredns`` in kube-system, 2 replicas
(``dns.go``), requests cpu 100m and memory 70Mi, RollingUpdate ``maxUnavailable: 1``,
tolerations for ``CriticalAddonsOnly`` and the control-plane ``NoSchedule`` taint (so it may
run on control-plane nodes), a preferred pod anti-affinity on ``kubernetes.io/hostname``
(weight 100), and no PodDisruptionBudget: DNS answers while one replica is ready. Every
workload resolves names through it, so each depends on it.

kchaos places it with the scheduler on the finished cluster, after the file's workloads (as
``kubeadm upgrade`` or a rollout restart re-creates it on a running cluster; at ``kubeadm
init`` the first control-plane node is the only node, and both replicas would land there).
The preferred anti-affinity is scored as kube-scheduler's InterPodAffinity scores it.
"""

from __future__ import annotations

import dataclasses

from kchaos.model.cluster import AffinityTerm, Workload

COREDNS = "coredns"
#: cmd/kubeadm/app/constants: CoreDNSReplicas; manifests.go: requests and rollingUpdate.
COREDNS_REPLICAS = 2
COREDNS_CPU = 0.1
COREDNS_MEMORY = 70 * 2**20


#: manifests.go: preferredDuringSchedulingIgnoredDuringExecution, weight 100, on kubernetes.io/hostname.
COREDNS_ANTI_AFFINITY = AffinityTerm("host", (COREDNS,), 100)


def coredns() -> Workload:
    return Workload(COREDNS, "Deployment", COREDNS_REPLICAS, COREDNS_CPU, COREDNS_MEMORY, min_available=1,
                    max_unavailable=(1, None), anti_affinity=(COREDNS_ANTI_AFFINITY,), namespace="kube-system",
                    tolerates_control_plane=True, addon=True)


def with_addons(workloads: list[Workload], addons: str) -> list[Workload]:
    """The file's workloads with kubeadm's CoreDNS added (unless ``addons`` is ``none`` or the file
    declares its own ``coredns``), and every other workload depending on CoreDNS."""
    if addons == "none":
        return workloads
    declared = any(w.name == COREDNS for w in workloads)
    needing = [w if w.name == COREDNS or COREDNS in w.depends_on
               else dataclasses.replace(w, depends_on=(*w.depends_on, COREDNS)) for w in workloads]
    return needing if declared else needing + [coredns()]

