"""MLflow, over its REST API: the model registry (versions, aliases, artifacts) and the runs a monitor logs."""
