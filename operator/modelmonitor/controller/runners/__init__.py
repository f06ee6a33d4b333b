"""Runners: where a MonitorRun's checks run, one module per runner behind one small interface.

* ``inline``: in one of the operator's check processes, for data up to --inline-max-bytes;
* ``job``: in a Kubernetes Job of its own, judged strictly from its Job and Pod;
* ``dask``: in a check process, with the drift work sent to a Dask cluster's workers.

``registry.runner_for`` picks one by the run's ``spec.runner`` (``auto`` is decided when the
run is created, by ``registry.choose_runner``); the run handler never knows which it drives.
What the check processes import (``work``, ``evaluation``) stays free of kopf and the API client.
"""
