"""Evidently's data-drift preset on the benchmark data; run with Evidently's own venv.

Prints the drifted columns as JSON.  Evidently needs pandas < 3, hence its own venv.
"""

from __future__ import annotations

import json
import sys

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def main(reference_path: str, current_path: str) -> None:
    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    drifted = []
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            value, threshold = metric["value"], config.get("threshold")
            method = config.get("method", "")
            is_p_value = "p_value" in method or "test" in method.lower()
            if (value < threshold) if is_p_value else (value >= threshold):
                drifted.append(config["column"])
    print(json.dumps(sorted(drifted)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
