"""The attach/detach controller: when a workload's volume can follow its pod to a new node.

What current upstream does (``pkg/controller/volume/attachdetach``, Kubernetes 1.30-1.34):

- A volume stays in the controller's desired state of the world for its node while a pod
  that uses it exists there and is not terminated (``util.DetermineVolumeAction`` keeps it
  unless ``IsPodTerminated``: phase Failed or Succeeded, or deleted with every container
  reported stopped). A pod evicted from an unreachable node stays Terminating with its last
  reported containers running: it is never "terminated", so its volume stays desired there.
- The reconciler (``reconciler.go``, ``reconcile``) detaches only what is no longer desired;
  ``maxWaitForUnmountDuration`` (6 min) lets it force-detach a volume still mounted on an
  unhealthy node, but only once no pod wants it there any more. With the taint
  ``node.kubernetes.io/out-of-service`` it detaches at once (``hasOutOfServiceTaint`` skips
  the unmount check), and the pod garbage collector force-deletes the Terminating pods.
- ``attachDesiredVolumes`` will not attach a ReadWriteOnce volume to a second node: the new
  pod gets ``FailedAttachVolume`` "Multi-Attach error ... Volume is already used by pod(s)".

So the 6-minute force detach does not apply to a pod evicted from a dead node: the replacement
of a Deployment pod with a ReadWriteOnce volume waits, Multi-Attach, until the old pod is gone,
that is until its node's kubelet returns (it confirms the deletion and unmounts) or until the
out-of-service taint (``kubernetes.outOfServiceAfter``). Then the volume attaches (``attach``
seconds) and the pod starts. A StatefulSet pod (one volume per pod) is created again only
once the old one is gone, so it only pays the attach; a ReadWriteMany volume never waits.
"""

from __future__ import annotations


class AttachDetach:
    """Volumes held by Terminating pods on unreachable nodes, and the pods waiting for them."""

    def __init__(self, work):
        self.work = work
        wls = work.c.workloads
        #: Per workload: seconds to attach its volume to a new node (0: no volume).
        self.attach = [wl.volume.attach if wl.volume is not None else 0.0 for wl in wls]
        #: Deployments whose pods share one ReadWriteOnce volume.
        self.exclusive = [wl.exclusive_volume for wl in wls]
        self.held: dict[int, tuple[int, str]] = {}  # workload -> (node, the old pod's name) holding its volume
        self.waiting: dict[int, list[tuple[int, int, int]]] = {}  # workload -> (pod, node, version) waiting

    def deleted(self, p: int, node: int, name: str = "") -> None:
        """Pod ``p`` of node ``node`` was deleted: with the node's kubelet gone the pod stays
        Terminating, and its exclusive volume with it."""
        w = self.work.m.pod_workload[p]
        if self.exclusive[w] and not self.work.lifecycle.kubelet_reports(node):
            self.held[w] = (node, name)

    def start_delay(self, p: int, node: int) -> float | None:
        """Seconds before ``p``, just bound to ``node``, can start its containers (its volume's
        attach); None while another node holds its volume (then :meth:`wait`)."""
        w = self.work.m.pod_workload[p]
        held = self.held.get(w)
        return None if held is not None and held[0] != node else self.attach[w]

    def wait(self, t: float, p: int, node: int) -> None:
        """``p``, bound to ``node``, waits for its volume (FailedAttachVolume, Multi-Attach)."""
        w = self.work.m.pod_workload[p]
        held = self.held[w]
        self.waiting.setdefault(w, []).append((p, node, self.work.version[p]))
        log = self.work.log
        if log is not None:
            log.note(t, "Warning", "FailedAttachVolume", f"pod/{log.pod_name(p)}",
                     f'Multi-Attach error for volume "{volume_name(self.work, w)}" Volume is already used by '
                     f"pod(s) {held[1] or 'on ' + self.work.c.nodes[held[0]].name}")

    def released(self, t: float, node: int) -> None:
        """The Terminating pods on ``node`` are gone (its kubelet is back, or it is out of
        service): their volumes detach, and the pods waiting for them attach and start."""
        for w in [w for w, (n, _) in self.held.items() if n == node]:
            del self.held[w]
            work = self.work
            for p, bound, version in self.waiting.pop(w, ()):
                if work.pl.pod_node[p] != bound or work.version[p] != version or not work.infra.node_up[bound]:
                    continue  # moved, restarted or lost meanwhile
                if work.log is not None:
                    work.log.note(t, "Normal", "SuccessfulAttachVolume", f"pod/{work.log.pod_name(p)}",
                                  f'AttachVolume.Attach succeeded for volume "{volume_name(work, w)}"')
                work.start(t + self.attach[w] + work.c.kubernetes.pod_startup, p)

    def waits(self, w: int) -> bool:
        """Some pod of ``w`` is bound and waiting for its volume (Multi-Attach)."""
        return bool(self.waiting.get(w))


def volume_name(work, w: int) -> str:
    return f"pvc-{work.c.workloads[w].name}"
