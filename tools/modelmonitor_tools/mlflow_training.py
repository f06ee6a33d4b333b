"""A training run as a data scientist's Job logs it with MLflow's own client, registered as a model version.

Run with the Python of MLflow's virtualenv (``MlflowServer.register_version``, or a retraining
Job's command), never imported:

    python mlflow_training.py --reference REFERENCE.parquet (--accuracy A | --trained MODEL.json)
                              [--name NAME] [--alias ALIAS]

It logs ``accuracy`` (the training figure production accuracy is compared with; with
``--trained``, the held-out accuracy ``modelmonitor_tools.sample_training`` wrote, and the
file itself as the artifact ``model/``), logs the reference file as the artifact
``data/reference.parquet``, registers the run as a version of model NAME, points ALIAS at it,
and prints the version, the run id and the artifact root.

In a retraining Job the operator's environment says the rest: ``MLFLOW_TRACKING_URI`` (the
monitor's registry), ``MODELMONITOR_MLFLOW_MODEL`` (NAME), and ``MODELMONITOR_RETRAINING``,
the retraining's name, with which the version is tagged (``modelmonitor.retraining``): the
operator finds the version by it and records it in ``status.retraining.last.registeredVersion``.
"""

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="log a training run with MLflow and register it as a version")
    parser.add_argument("--name", default=os.environ.get("MODELMONITOR_MLFLOW_MODEL"), help="the registered model")
    parser.add_argument("--reference", required=True, help="the reference data, logged as data/reference.parquet")
    figure = parser.add_mutually_exclusive_group(required=True)
    figure.add_argument("--accuracy", type=float, help="the training accuracy to log")
    figure.add_argument("--trained", type=Path, help="a model file of sample_training (its heldOutAccuracy)")
    parser.add_argument("--alias", help="an alias to point at the new version")
    arguments = parser.parse_args()
    if not arguments.name:
        parser.error("--name is needed (or MODELMONITOR_MLFLOW_MODEL, as a retraining Job is given)")
    return arguments


def main() -> None:
    arguments = _arguments()
    retraining = os.environ.get("MODELMONITOR_RETRAINING", "")
    mlflow.set_experiment(f"training/{arguments.name}")
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as scratch:
        accuracy = arguments.accuracy
        if arguments.trained is not None:
            accuracy = json.loads(arguments.trained.read_text())["heldOutAccuracy"]
            mlflow.log_artifact(str(arguments.trained), artifact_path="model")
        mlflow.log_metric("accuracy", float(accuracy))
        if retraining:
            mlflow.set_tags({"modelmonitor.retraining": retraining, **_trigger()})
        copy = Path(scratch) / "reference.parquet"
        shutil.copyfile(arguments.reference, copy)
        mlflow.log_artifact(str(copy), artifact_path="data")
    client = MlflowClient()
    try:
        client.create_registered_model(arguments.name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    tags = {"modelmonitor.retraining": retraining} if retraining else None
    version = client.create_model_version(
        arguments.name, source=f"{run.info.artifact_uri}/data", run_id=run.info.run_id, tags=tags
    )
    if arguments.alias:
        client.set_registered_model_alias(arguments.name, arguments.alias, version.version)
    print(json.dumps({"version": version.version, "run_id": run.info.run_id, "artifacts": run.info.artifact_uri}))


def _trigger() -> dict[str, str]:
    """Why the operator retrains, as the training run's tags (the MODELMONITOR_* environment)."""
    keys = ("MONITOR", "NAMESPACE", "RUN", "TRIGGER", "REASON", "MODEL_VERSION")
    return {f"modelmonitor.{key.lower()}": os.environ.get(f"MODELMONITOR_{key}", "") for key in keys}


if __name__ == "__main__":
    main()
