"""The control plane: etcd Raft (quorum, randomised elections, commit latency), the API servers,
and the kube-controller-manager / kube-scheduler leases."""
