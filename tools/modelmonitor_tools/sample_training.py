"""The demo's retraining step: refit the sample credit-risk model on the freshest labelled rows.

A retraining Job runs ``python -m modelmonitor_tools.sample_training --data LOGS --out DIR``.  It
reads why it runs from the ``MODELMONITOR_*`` environment the operator gives every
retraining Job, fits a logistic regression on the labelled rows of the window that
triggered it (where the relationship changed), and writes the next model version as
``DIR/credit-risk-vN.json``: its coefficients, its accuracy on a held-out fifth, and the
trigger's context.  It is deliberately small; a real pipeline would register the model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from modelmonitor.times import parse_iso

FEATURES = ("age", "log_income", "log_amount", "north", "south", "east", "west")


def _design(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    region = np.asarray(columns["region"]).astype(str)
    return np.column_stack(
        [
            np.asarray(columns["age"], float),
            np.log(np.asarray(columns["income"], float)),
            np.log(np.asarray(columns["amount"], float)),
            *((region == name).astype(float) for name in ("north", "south", "east", "west")),
        ]
    )


def train(data: Path, out: Path, env: Mapping[str, str]) -> Path:
    """Fit and write the next version; returns the written file."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    context: dict[str, Any] = json.loads(env.get("MODELMONITOR_CONTEXT") or "{}")
    table = pq.read_table(data, columns=["ts", "age", "income", "amount", "region", "label"]).to_pydict()
    start, end = context.get("windowStart"), context.get("windowEnd")
    timestamps = np.array([moment.timestamp() for moment in table["ts"]])
    in_window = np.ones(len(timestamps), bool)
    if start and end:
        low, high = (parse_iso(value).timestamp() for value in (start, end))
        in_window = (timestamps > low) & (timestamps <= high)
    labels = np.array([np.nan if value is None else value for value in table["label"]], float)
    keep = in_window & ~np.isnan(labels)
    if keep.sum() < 50:
        raise SystemExit(f"error: only {int(keep.sum())} labelled rows in the window; at least 50 are needed")
    columns = {name: np.asarray(values, dtype=object)[keep] for name, values in table.items()}
    features, target = _design(columns), labels[keep].astype(int)
    # the newest rows carry the changed relationship: train on the window's last part, hold out a fifth
    order = np.argsort(timestamps[keep])
    recent = order[len(order) * 2 // 3 :]
    cut = len(recent) * 4 // 5
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(features[recent[:cut]], target[recent[:cut]])
    accuracy = float(model.score(features[recent[cut:]], target[recent[cut:]]))
    version = str(int(context.get("modelVersion") or 0) + 1)
    out.mkdir(parents=True, exist_ok=True)
    written = out / f"{context.get('modelName') or 'model'}-v{version}.json"
    classifier = model[-1]
    written.write_text(
        json.dumps(
            {
                "version": version,
                "trainedAt": datetime.now(UTC).isoformat(timespec="seconds"),
                "trainingRows": int(cut),
                "heldOutAccuracy": round(accuracy, 4),
                "features": list(FEATURES),
                "coefficients": [round(float(c), 6) for c in classifier.coef_[0]],
                "intercept": round(float(classifier.intercept_[0]), 6),
                "trigger": context,
            },
            indent=2,
        )
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="retrain the sample credit-risk model (the demo's retraining Job)")
    parser.add_argument("--data", type=Path, required=True, help="the logged predictions, with labels")
    parser.add_argument("--out", type=Path, required=True, help="where the new version's file goes")
    args = parser.parse_args(argv)
    written = train(args.data, args.out, os.environ)
    print(f"wrote {written}: {json.loads(written.read_text())['heldOutAccuracy']} held-out accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
