"""kube-scheduler over the placement arrays (filter, score, batch placement), and the settled end
state of a domain loss (the blast radius) computed with the same components."""
