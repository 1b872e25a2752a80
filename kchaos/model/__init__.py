"""The simulation core: no I/O, no CLI. A reader's map:

- :mod:`.cluster` the immutable cluster built from a topology; :mod:`.cluster_model` what the
  engine computes once per cluster; :mod:`.engine` the thin event loop (:class:`HistoryRun`)
  over one timer heap (:mod:`.timers`); :mod:`.infrastructure` which failure instances are down,
  hence which nodes are up and which regions are joined; :mod:`.eventlog` what-if events.
- :mod:`.controlplane`: etcd Raft quorum and elections, the API servers, the controller-manager
  and scheduler leases.
- :mod:`.nodes`: node lifecycle (NotReady, taints, eviction) and the zone-aware, rate-limited
  taint queues.
- :mod:`.workloads`: the workload controllers (Deployments, StatefulSets, DaemonSets), rollouts,
  drains and rolling upgrades.
- :mod:`.scheduling`: kube-scheduler over the placement arrays, batch placement, and the settled
  single-domain responses (the blast radius).
- :mod:`.sampling`: failure histories (plain and importance-sampled), the Monte Carlo driver and
  where histories run.
- :mod:`.recording`: what the statistics read (episode sums, sketches, regenerative cycles) and
  the attribution of down time to causes.
"""
