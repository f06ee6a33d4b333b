"""modelmonitor's tooling, installed beside the operator but never in its image.

``devcluster`` runs a real control plane as local processes; ``samples`` writes the
reproducible sample data and serves the demo's traffic; ``sample_training`` is the training
script the demo's retraining Job runs; ``demo`` and ``demo_offline`` are the README's demos.
The ``modelmonitor`` command finds ``samples`` and ``dev-cluster`` through the
``modelmonitor.commands`` entry points of ``tools/pyproject.toml``.
"""
