"""kchaos: offline chaos and high-availability capacity planning for Kubernetes clusters."""

__version__ = "0.1.0"
