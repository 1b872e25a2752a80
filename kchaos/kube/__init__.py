"""Everything that speaks Kubernetes' own formats: nodes and manifests in (``kubectl get -o
json``, YAML), drills out (Chaos Mesh experiments). Sits above the analysis: it reads results."""
