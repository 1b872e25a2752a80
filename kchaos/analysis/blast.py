"""The blast-radius table: what each domain's failure costs, from the cached responses."""

from __future__ import annotations

import numpy as np

from ..model.scheduling.response import BLAST_KINDS, BlastRadius
from .statistics import SECONDS_PER_YEAR


def domain_table(blast: BlastRadius, domain_failures: np.ndarray, failures: dict) -> list[dict]:
    """One row per failure domain above the node level (plus region links): ``failures`` the
    times it failed in the run (drawn: under importance sampling, more often than naturally),
    ``failures_per_year`` its natural rate (from the rates, ``failures``: kind -> FailureSpec)."""
    rows = []
    for d in blast.model.cluster.domains:
        if d.kind not in BLAST_KINDS:
            continue
        r = blast.respond([d.index])
        spec = failures.get(d.kind)
        rate = SECONDS_PER_YEAR / (spec.ttf.mean + spec.ttr.mean) if spec is not None and spec.ttf is not None else 0.0
        rows.append({
            "id": d.id, "kind": d.kind, "failures": int(round(float(domain_failures[d.index]))),
            "failures_per_year": float(f"{rate:.4g}"),
            "quorum_lost": r.quorum_lost, "api_down": r.api_down, "members_lost": r.members_lost,
            "nodes_lost": r.nodes_lost, "pods_displaced": r.pods_displaced, "pods_pending": r.pods_pending,
            "max_node_utilization": round(r.hottest, 4),
            "workloads_unavailable": list(r.workloads_unavailable),
        })
    return rows
