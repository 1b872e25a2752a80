"""What runs: the workloads, their placement rules, volumes, dependencies and releases."""

from __future__ import annotations

import math
from typing import Any

from kchaos.model.cluster import AffinityTerm, BadRelease, Releases, Spread, Volume, Workload
from kchaos.topology import definitions as D
from kchaos.topology.checker import MISSING, Checker, known_list, suggest
from kchaos.topology.schema_common import MAX_PODS
from kchaos.topology.yamlsafe import Path


#: Volume attach time when the file gives none: a cloud block volume (ReadWriteOnce) is attached to
#: the node by the attach/detach controller, which commonly takes 10-30 s (assumption: 20 s); a
#: shared file system (ReadWriteMany: NFS, CephFS, EFS) is mounted by the kubelet, not attached.
DEFAULT_ATTACH = {"ReadWriteOnce": 20.0, "ReadWriteMany": 0.0}
#: Deployment spec.progressDeadlineSeconds default (apps/v1): a rollout making no progress for
#: this long is marked ProgressDeadlineExceeded, the readiness-caught bad release's signal.
PROGRESS_DEADLINE_SECONDS = 600.0


def _cycle(start: str, needs: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A dependency chain from ``start`` back to a workload already on it, or None."""
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name in path:
            return path[path.index(name):] + [name]
        path.append(name)
        for dep in needs.get(name, ()):
            found = visit(dep)
            if found:
                return found
        path.pop()
        return None

    return visit(start)


class Workloads:
    """Reads the workloads; remembers their names for the SLO targets that refer to them."""

    def __init__(self, checker: Checker):
        self.c = checker
        self.names: dict[str, int | None] = {}  # valid names -> line
        self.names_ok = True  # every workload was read with a valid name (references can be checked)
        self.repeats = 0  # names defined twice: each may stand where another name was meant
        self.references: list[tuple[Path, str]] = []  # workloads named by (anti-)affinity terms
        self.depends_paths: dict[str, Path] = {}  # workload -> where its dependsOn is (loops are checked at the end)

    def read(self, value: Any, n_workers: int | None) -> list[Workload]:
        """``n_workers`` is None when the worker pools could not all be read (already reported)."""
        c, path = self.c, ("workloads",)
        if value is MISSING or value is None:
            self.names_ok = not c.already_reported(path)
            return []
        items = c.sequence(value, path, "workloads", allow_empty=True)
        if items is None:
            self.names_ok = False
        result: list[Workload] = []
        seen = self.names
        pods = 0
        for i, item in enumerate(items or []):
            q = path + (i,)
            m = c.section(item, q, D.WORKLOAD)
            if m is None:
                self.names_ok = False
                continue
            name = c.field(m, q, D.WORKLOAD, "name")
            if name is None:
                self.names_ok = False
            elif name in seen:
                self.repeats += 1
                c.error(q + ("name",),
                        f"workload '{name}' is defined twice (lines {seen[name]} and {c.line(q + ('name',))})")
            else:
                seen[name] = c.line(q + ("name",))
            kind = c.field(m, q, D.WORKLOAD, "kind")
            replicas: int | None
            if kind == "DaemonSet":
                if "replicas" in m:
                    c.error(q + ("replicas",), "a DaemonSet runs one pod per worker node; remove replicas")
                replicas = n_workers
            elif kind is None and "replicas" not in m:
                replicas = None  # the default depends on the kind, which is invalid (already reported)
            else:
                replicas = c.field(m, q, D.WORKLOAD, "replicas")
            pods += replicas or 0
            requests = c.get(m, q, "requests", c.section, default={}, declared=D.REQUESTS) or {}
            cpu, memory = (c.field(requests, q + ("requests",), D.REQUESTS, key) for key in D.REQUESTS.keys)
            min_count, min_fraction = self.min_available(m, q, kind, replicas, n_workers)
            spread = self.spread(m, q, kind)
            scope = c.field(m, q, D.WORKLOAD, "volumeScope")
            if "volumeScope" in m and kind not in (None, "StatefulSet"):
                c.error(q + ("volumeScope",), "only applies to a StatefulSet (pods bound to their volumes)")
            surge, unavailable = self.strategy(m, q, kind, replicas)
            anti, aff = (self.affinity(m, q, key, kind, name) for key in ("antiAffinity", "affinity"))
            namespace = c.field(m, q, D.WORKLOAD, "namespace", default="default")
            needs = self.needs(m, q, kind, replicas)
            if name is None or kind is None or replicas is None or cpu is None or memory is None or anti is None \
                    or aff is None or namespace is None or needs is None:
                continue
            result.append(Workload(name, kind, replicas, cpu, memory, min_count, min_fraction, spread, scope,
                                   line=c.line(q), max_surge=surge, max_unavailable=unavailable,
                                   anti_affinity=anti, affinity=aff, namespace=namespace, **needs))
        if pods > MAX_PODS:
            c.error(path, f"the workloads add up to {pods} pods; kchaos handles at most {MAX_PODS}")
        self.check_references()
        self.check_dependencies(result)
        return result

    def affinity(self, m: dict[str, Any], q: Path, key: str, kind: str | None,
                 name: str | None) -> tuple[AffinityTerm, ...] | None:
        """``antiAffinity`` / ``affinity``: terms {over, workloads, required, weight}; the
        workloads default to this one; a weight makes a term preferred."""
        c = self.c
        if key not in m:
            return ()
        if kind == "DaemonSet":
            c.error(q + (key,), "does not apply to a DaemonSet: it runs one pod per worker node")
            return None
        items = c.sequence(m[key], q + (key,), "terms, e.g. [{over: host}]")
        if items is None:
            return None
        terms: list[AffinityTerm] | None = []
        for k, item in enumerate(items):
            p = q + (key, k)
            t = c.section(item, p, D.AFFINITY_TERM)
            if t is None:
                terms = None
                continue
            over, required, weight = (c.field(t, p, D.AFFINITY_TERM, f) for f in ("over", "required", "weight"))
            if "required" in t and "weight" in t and required:
                c.error(p + ("weight",), "a weight makes the term preferred; remove it or set required: false")
                terms = None
                continue
            if "required" in t and not required and weight is None:
                c.error(p, "a preferred term (required: false) needs a weight from 1 to 100")
                terms = None
                continue
            names = c.get(t, p, "workloads", lambda v, path: c.sequence(v, path, "workload names"), default=None)
            if names is None:
                names = [name] if "workloads" not in t else None
            else:
                for j, ref in enumerate(names):
                    if c.scalar(ref, p + ("workloads", j), D.AFFINITY_TERM.fields["workloads"].items) is not None:
                        self.references.append((p + ("workloads", j), ref))
            if over is None or names is None or None in names or terms is None:
                terms = None
                continue
            terms.append(AffinityTerm(over, tuple(names), weight))
        return tuple(terms) if terms is not None else None

    def check_references(self) -> None:
        """Every workload an (anti-)affinity term names exists."""
        if not self.names_ok:
            return
        known = list(self.names)
        for path, ref in self.references:
            if ref not in self.names:
                hint = suggest(ref, known)
                self.c.error(path, f"unknown workload '{ref}'" + (f"; did you mean '{hint}'?" if hint else "")
                             + f"; known workloads: {known_list(known)}")

    # -- issue 25: pod management, volume, dependencies, releases --------------------------------
    def needs(self, m: dict[str, Any], q: Path, kind: str | None, replicas: int | None) -> dict[str, Any] | None:
        """The keys beyond pods and placement, as Workload fields (None: something is invalid)."""
        c, ok = self.c, True
        out: dict[str, Any] = {}
        if "podManagementPolicy" in m:
            if kind not in (None, "StatefulSet"):
                c.error(q + ("podManagementPolicy",), "only applies to a StatefulSet")
            policy = c.field(m, q, D.WORKLOAD, "podManagementPolicy")
            ok &= policy is not None
            out["pod_management"] = policy or "OrderedReady"
        if "volume" in m:
            out["volume"] = volume = self.volume(m["volume"], q + ("volume",), kind, replicas)
            ok &= volume is not None
        if "dependsOn" in m:
            items = c.sequence(m["dependsOn"], q + ("dependsOn",), "workload names", allow_empty=True)
            names = [c.name(x, q + ("dependsOn", i)) for i, x in enumerate(items or [])]
            ok &= items is not None and None not in names
            out["depends_on"] = tuple(dict.fromkeys(n for n in names if n is not None))
            self.references += [(q + ("dependsOn", i), n) for i, n in enumerate(names) if n is not None]
            if isinstance(m.get("name"), str):
                self.depends_paths[m["name"]] = q + ("dependsOn",)
        if "rollouts" in m:
            out["releases"] = releases = self.releases(m["rollouts"], q + ("rollouts",), kind)
            ok &= releases is not None
        return out if ok else None

    def volume(self, value: Any, path: Path, kind: str | None, replicas: int | None) -> Volume | None:
        c = self.c
        if kind == "DaemonSet":
            c.error(path, "only applies to a Deployment or a StatefulSet")
            return None
        v = c.section(value, path, D.VOLUME)
        if v is None or "accessMode" not in v:
            return None
        mode = c.field(v, path, D.VOLUME, "accessMode")
        attach = c.field(v, path, D.VOLUME, "attach", default=None)
        if mode is None or (attach is None and "attach" in v):
            return None
        if mode == "ReadWriteOnce" and kind == "Deployment" and replicas is not None and replicas > 1:
            c.error(path + ("accessMode",),
                    f"a Deployment's {replicas} replicas share one ReadWriteOnce volume, which attaches to one "
                    "node at a time (pods elsewhere fail with Multi-Attach); use replicas: 1, ReadWriteMany, "
                    "or a StatefulSet (one volume per pod)")
            return None
        if attach is None:
            attach = DEFAULT_ATTACH[mode]
        return Volume(mode, attach)

    def releases(self, value: Any, path: Path, kind: str | None) -> Releases | None:
        c = self.c
        if kind == "DaemonSet":
            c.error(path, "only applies to a Deployment or a StatefulSet")
            return None
        r = c.section(value, path, D.ROLLOUTS)
        if r is None:
            return None
        every = c.field(r, path, D.ROLLOUTS, "every", default=None)
        if every is None and "every" in r:
            return None
        bad = None
        if "bad" in r:
            q = path + ("bad",)
            b = c.section(r["bad"], q, D.BAD_RELEASE)
            if b is None or "probability" not in b or "detectedBy" not in b:
                return None
            probability, detected_by = (c.field(b, q, D.BAD_RELEASE, key) for key in ("probability", "detectedBy"))
            detect, rollback = (c.field(b, q, D.BAD_RELEASE, key, default=None) for key in ("detect", "rollback"))
            if None in (probability, detected_by) or (detect is None and "detect" in b) \
                    or (rollback is None and "rollback" in b):
                return None
            if detect is None:
                if detected_by == "readiness" and kind == "Deployment":
                    detect = PROGRESS_DEADLINE_SECONDS
                else:
                    c.error(q, "needs detect: how long until someone acts on the bad release (only a "
                               "Deployment caught by readiness has a default, its progressDeadlineSeconds)")
                    return None
            bad = BadRelease(probability, detected_by, detect, rollback)  # rollback None: podStartup
        return Releases(every, bad)

    def check_dependencies(self, workloads: list[Workload]) -> None:
        """No workload depends on itself, and no chain of dependsOn loops (the names themselves are
        checked with every other reference)."""
        c = self.c
        needs = {w.name: w.depends_on for w in workloads}
        for w in workloads:
            path = self.depends_paths.get(w.name, ("workloads",))
            if w.name in w.depends_on:
                c.error(path, f"workload '{w.name}' cannot depend on itself")
                continue
            loop = _cycle(w.name, needs)
            if loop and loop[0] == w.name == min(loop):  # each loop once, at its first name
                c.error(path, "dependencies loop: " + " -> ".join(loop))

    def min_available(self, m: dict[str, Any], q: Path, kind: str | None, replicas: int | None,
                      n_workers: int | None) -> tuple[int | None, float | None]:
        c, path = self.c, q + ("minAvailable",)
        if "minAvailable" not in m:
            return (None, None) if c.already_reported(path) else (1, None)
        parsed = c.field(m, q, D.WORKLOAD, "minAvailable")
        if parsed is None:
            return None, None
        count, fraction = parsed
        if fraction is not None:
            if kind == "DaemonSet" or replicas is None:
                return None, fraction
            return math.ceil(fraction * replicas - 1e-9), fraction
        assert count is not None
        if kind == "DaemonSet" and n_workers and count > n_workers:
            c.error(path, f"must be at most the number of worker nodes ({n_workers}), got {count}")
        elif kind != "DaemonSet" and replicas is not None and count > replicas:
            c.error(path, f"must be at most replicas ({replicas}), got {count}: the workload could never be available")
        return count, None

    def strategy(self, m: dict[str, Any], q: Path, kind: str | None, replicas: int | None) -> tuple[tuple, tuple]:
        """A Deployment's RollingUpdate maxSurge and maxUnavailable, each (count, fraction)."""
        c, default = self.c, (None, 0.25)
        if "strategy" not in m:
            return default, default
        path = q + ("strategy",)
        if kind not in (None, "Deployment"):
            c.error(path, "only applies to a Deployment (its RollingUpdate strategy)")
            return default, default
        s = c.section(m["strategy"], path, D.STRATEGY)
        surge = c.field(s, path, D.STRATEGY, "maxSurge") or default
        unavailable = c.field(s, path, D.STRATEGY, "maxUnavailable") or default
        if s is not None and 0 in (surge[0], surge[1]) and 0 in (unavailable[0], unavailable[1]):
            c.error(path, "maxSurge and maxUnavailable cannot both be 0: the rollout could never progress")
        return surge, unavailable

    def spread(self, m: dict[str, Any], q: Path, kind: str | None) -> Spread | None:
        c = self.c
        if "spreadOver" in m and "spread" in m:
            c.error(q + ("spread",), "give either spreadOver (shorthand) or spread, not both")
            return None
        key = "spreadOver" if "spreadOver" in m else "spread" if "spread" in m else None
        if key is None:
            return None
        if kind == "DaemonSet":
            c.error(q + (key,), "does not apply to a DaemonSet: it runs one pod per worker node")
            return None
        if key == "spreadOver":
            over = c.field(m, q, D.WORKLOAD, key)
            return Spread(over) if over else None
        path = q + ("spread",)
        s = c.section(m[key], path, D.SPREAD)
        if s is None or "over" not in s:
            return None
        over, skew, when, taints = (c.field(s, path, D.SPREAD, key) for key in D.SPREAD.keys)
        if over is None or skew is None or when is None or taints is None:
            return None
        return Spread(over, skew, when, taints)


# -- failures, kubernetes, slo, maintenance -------------------------------------
