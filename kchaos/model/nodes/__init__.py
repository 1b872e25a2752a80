"""Node lifecycle: NotReady after the grace period, the zone-aware rate-limited taints, and
eviction after the toleration."""
