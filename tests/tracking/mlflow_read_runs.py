"""Run with MLflow's own Python: an experiment's runs as MLflow's client reads them, as JSON by run id.

python mlflow_read_runs.py EXPERIMENT
"""

import json
import sys

from mlflow import MlflowClient

client = MlflowClient()
experiment = client.get_experiment_by_name(sys.argv[1])
found = {}
for run in client.search_runs([experiment.experiment_id]):
    found[run.info.run_id] = {
        "run_name": run.info.run_name,
        "status": run.info.status,
        "tags": run.data.tags,
        "metrics": run.data.metrics,
        "history": {
            key: [{"timestamp": m.timestamp, "value": m.value} for m in client.get_metric_history(run.info.run_id, key)]
            for key in ("metrics/accuracy",)
        },
    }
print(json.dumps(found))
