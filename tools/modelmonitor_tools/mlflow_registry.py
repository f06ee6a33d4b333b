"""The demo's view of the MLflow registry, through MLflow's own client, as a data scientist would look.

Run with the Python of MLflow's virtualenv (``MlflowServer.run_python``), never imported:

    python mlflow_registry.py create NAME COUNT ALIAS=VERSION...   # COUNT versions, then the aliases
    python mlflow_registry.py alias NAME ALIAS VERSION             # point ALIAS at VERSION
    python mlflow_registry.py show NAME                            # its aliases and rollout tags, as JSON

The versions ``create`` makes have no run: they stand for builds the demo's traffic already
serves (``model_version`` 7, 8 and 9 in the logs), registered under the same numbers.
"""

import json
import sys

from mlflow import MlflowClient


def create(client: MlflowClient, name: str, count: str, *aliases: str) -> None:
    client.create_registered_model(name)
    for number in range(1, int(count) + 1):
        client.create_model_version(name, source=f"s3://models/{name}/{number}")
    for pair in aliases:
        alias, version = pair.split("=", 1)
        client.set_registered_model_alias(name, alias, version)


def show(client: MlflowClient, name: str) -> None:
    model = client.get_registered_model(name)
    tagged = {}
    for found in client.search_model_versions(f"name='{name}'"):
        tags = {key: value for key, value in found.tags.items() if key.startswith("modelmonitor.rollout")}
        if tags:
            tagged[found.version] = tags
    print(json.dumps({"aliases": dict(sorted(model.aliases.items())), "tags": tagged}, sort_keys=True))


def main(command: str, name: str, *rest: str) -> None:
    client = MlflowClient()
    if command == "create":
        create(client, name, *rest)
    elif command == "alias":
        client.set_registered_model_alias(name, rest[0], rest[1])
    elif command == "show":
        show(client, name)
    else:
        raise SystemExit(f"unknown command {command!r}: create, alias or show")


if __name__ == "__main__":
    main(*sys.argv[1:])
