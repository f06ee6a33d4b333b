"""A training run as a data scientist's Job logs it with MLflow's own client, registered as a model version.

Run with the Python of MLflow's virtualenv (``MlflowServer.register_version``), never imported:

    python mlflow_training.py NAME REFERENCE.parquet ACCURACY [ALIAS]

It logs ``accuracy`` (the training figure production accuracy is compared with), logs the
reference file as the artifact ``data/reference.parquet``, registers the run as a version of
model NAME, points ALIAS at it, and prints the version, the run id and the artifact root.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def main(name: str, reference: str, accuracy: str, alias: str | None = None) -> None:
    mlflow.set_experiment(f"training/{name}")
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as scratch:
        mlflow.log_metric("accuracy", float(accuracy))
        copy = Path(scratch) / "reference.parquet"
        shutil.copyfile(reference, copy)
        mlflow.log_artifact(str(copy), artifact_path="data")
    client = MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(name, source=f"{run.info.artifact_uri}/data", run_id=run.info.run_id)
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    print(json.dumps({"version": version.version, "run_id": run.info.run_id, "artifacts": run.info.artifact_uri}))


if __name__ == "__main__":
    main(*sys.argv[1:])
