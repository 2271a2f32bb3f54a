"""Training tooling for svt-live: data, labels, losses, metrics, fitting and evaluation."""
