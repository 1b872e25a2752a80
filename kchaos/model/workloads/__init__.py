"""Workload controllers: ReplicaSet/Deployment, StatefulSet and DaemonSet pods and their
replacements; rollout waves, drains and rolling upgrades."""
