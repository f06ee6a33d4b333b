"""The check engine: pure functions over arrays (metrics, drift, concept drift, verdicts).

No Kubernetes, no file or network I/O: callers hand it numpy arrays and counts.
"""
