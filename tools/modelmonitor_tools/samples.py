"""Reproducible sample data: a credit-risk model that stays healthy, and one that drifts.

``modelmonitor samples DIR`` writes ``reference.parquet`` (the training window, with
labels and predictions), ``healthy.parquet`` and ``drifted.parquet`` (24 hours of logged
predictions ending at ``--now``), and two ModelMonitor files that check them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REGIONS = np.array(["north", "south", "east", "west"])
SEED = 20261123


def _frame(
    rng: np.random.Generator, rows: int, *, end: datetime, span: timedelta, drifted: bool, labels_late: bool = True
) -> pa.Table:
    age = rng.normal(42, 12, rows).clip(18, 90)
    income = rng.lognormal(10.8, 0.5, rows)
    amount = rng.gamma(2.0, 2500.0, rows)
    region_weights = [0.4, 0.3, 0.2, 0.1]
    changed = np.zeros(rows, bool)
    if drifted:
        amount = amount * 1.8  # loan sizes jumped
        income = income * 0.8
        region_weights = [0.15, 0.2, 0.25, 0.4]
        changed[rows * 2 // 3 :] = True  # the concept changes in the last third of the window
    region = rng.choice(REGIONS, rows, p=region_weights)
    model_logit = _learnt_logit(age, income, amount, region)
    # the model learnt the true relationship on the reference data; later it changes
    true_logit = np.where(changed, _changed_logit(model_logit, region), model_logit)
    label = rng.random(rows) < 1 / (1 + np.exp(-true_logit))
    score = 1 / (1 + np.exp(-(model_logit + rng.normal(0, 0.3, rows))))
    timestamps = _timestamps(rng, rows, end=end, span=span, unit="s")
    labeled = np.ones(rows, bool)
    if labels_late:  # labels arrive late: some rows lack one, and the newest have none yet
        labeled = rng.random(rows) < 0.9
        labeled[-rows // 20 :] = False
    features = (age, income, amount, region)
    return _logged(timestamps, features, score, pa.array(label.astype(np.int64), mask=~labeled), np.full(rows, "7"))


def _learnt_logit(age: np.ndarray, income: np.ndarray, amount: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The credit-risk relationship version 7 learnt: the log odds of default."""
    return 2.0 * (np.log(amount / income) + 2.6) - 0.03 * (age - 42) + 0.8 * (region == "west")


def _changed_logit(learnt: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The relationship after the concept changed."""
    return -learnt + 1.5 * (region == "east")


def _logged(
    timestamps: np.ndarray,
    features: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    score: np.ndarray,
    label: pa.Array | np.ndarray,
    versions: np.ndarray,
) -> pa.Table:
    """Logged predictions as a model server writes them: time, features, score, prediction, label, version."""
    age, income, amount, region = features
    return pa.table(
        {
            "ts": pa.array(timestamps, pa.timestamp("us", tz="UTC")),
            "age": age.round(1),
            "income": income.round(2),
            "amount": amount.round(2),
            "region": region,
            "score": score,
            "prediction": (score >= 0.5).astype(np.int64),
            "label": label,
            "model_version": versions,
        }
    )


def _timestamps(rng: np.random.Generator, rows: int, *, end: datetime, span: timedelta, unit: str = "us") -> np.ndarray:
    """Sorted times spread uniformly over (end - span, end], at whole ``unit``s back from ``end``."""
    offsets = np.sort(rng.uniform(0, span.total_seconds(), rows))
    back = (span.total_seconds() - offsets) * (1e6 if unit == "us" else 1)
    return np.datetime64(end.astimezone(UTC).replace(tzinfo=None), "us") - back.astype(f"timedelta64[{unit}]")


MONITOR = """\
apiVersion: modelmonitor.io/v1alpha1
kind: ModelMonitor
metadata:
  name: {name}
spec:
  model: {{name: credit-risk, version: "7", task: binaryClassification}}
  schedule: {{interval: 5m}}
  data:
    current: {{uri: {current}, format: parquet, window: 24h}}
    reference: {{uri: {reference}, format: parquet}}
    columns:
      timestamp: ts
      prediction: prediction
      label: label
      score: score
      modelVersion: model_version
      categorical: [region]
    minSamples: 200
  metrics:
    - {{name: accuracy, min: 0.75}}
    - {{name: rocAuc, min: 0.80}}
    - {{name: f1, min: 0.60}}
  drift:
    method: auto
    datasetDriftShare: 0.5
    correction: fdr
  conceptDrift:
    - {{method: performanceWindow, metric: accuracy, alpha: 0.01}}
    - {{method: ddm}}
"""


def write_samples(directory: Path, *, now: datetime, rows: int = 5000, data_directory: str | None = None) -> list[Path]:
    """Write the sample data and monitors; paths in the monitors point at ``data_directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    now = now.astimezone(UTC)
    reference = _frame(
        rng, rows * 2, end=now - timedelta(days=30), span=timedelta(days=14), drifted=False, labels_late=False
    )
    pq.write_table(reference, directory / "reference.parquet")
    pq.write_table(_frame(rng, rows, end=now, span=timedelta(hours=24), drifted=False), directory / "healthy.parquet")
    pq.write_table(_frame(rng, rows, end=now, span=timedelta(hours=24), drifted=True), directory / "drifted.parquet")
    base = data_directory or str(directory.resolve())
    written = []
    for name in ("healthy", "drifted"):
        path = directory / f"{name}-monitor.yaml"
        path.write_text(
            MONITOR.format(
                name=f"credit-risk-{name}", current=f"{base}/{name}.parquet", reference=f"{base}/reference.parquet"
            )
        )
        written.append(path)
    return written


# --- traffic for rollouts ----------------------------------------------------------------

# how well each version learnt the changed relationship: 1 fully, 0 not at all (the old one), -1 a guess;
# between 0 and 1, the new one blurred by noise of (1 - skill) x BLUR in log odds
VERSION_SKILL = {"7": 0.0, "8": 1.0, "9": -1.0, "10": 0.5}
BLUR = 4.0


@dataclass(frozen=True)
class Mirror:
    """A shadow step's copies: ``percent`` of the requests ``source`` serves, answered by ``target`` too."""

    source: str
    target: str
    percent: int


def served_rows(
    rng: np.random.Generator,
    shares: dict[str, int],
    rows: int,
    *,
    end: datetime,
    span: timedelta,
    mirror: Mirror | None = None,
    labelled: bool = True,
) -> pa.Table:
    """Rows served after the concept changed, each by a version drawn with the routing ``shares`` (percent), and
    each with its ``request_id``.

    Version 7 still predicts the old relationship (accuracy about 0.68 here), version 8 was
    retrained on the new one (about 0.84), version 9 is a botched build that guesses (about 0.5),
    and version 10 learnt the new one but blurred (about 0.77). With ``mirror``, the mirrored copies
    are logged too: the same request (time, features, label, id) answered by the mirror's target.
    Not ``labelled``: the labels have not come yet (a default is known months later), so the label
    column is null.
    """
    versions = list(shares)
    drawn = rng.choice(versions, rows, p=np.asarray([shares[v] for v in versions], float) / sum(shares.values()))
    age = rng.normal(42, 12, rows).clip(18, 90)
    income = rng.lognormal(10.8, 0.5, rows) * 0.8
    amount = rng.gamma(2.0, 2500.0, rows) * 1.8
    region = rng.choice(REGIONS, rows, p=[0.15, 0.2, 0.25, 0.4])
    old_logit = _learnt_logit(age, income, amount, region)
    changed = rng.random(rows) < 0.25  # the relationship changed for a quarter of the applicants
    true_logit = np.where(changed, _changed_logit(old_logit, region), old_logit)
    label = rng.random(rows) < 1 / (1 + np.exp(-true_logit))
    score = _answered(rng, drawn, true_logit, old_logit)
    timestamps = _timestamps(rng, rows, end=end, span=span)
    features = (age, income, amount, region)

    def labels(chosen: np.ndarray) -> pa.Array:
        return pa.array(label[chosen].astype(np.int64), mask=np.full(int(chosen.sum()), not labelled))

    served = _logged(timestamps, features, score, labels(np.ones(rows, bool)), drawn.astype(str))
    ids = np.char.add("req-", rng.integers(0, 2**62, rows).astype(str))
    served = served.append_column("request_id", pa.array(ids))
    if mirror is None:
        return served
    copied = (drawn.astype(str) == mirror.source) & (rng.random(rows) < mirror.percent / 100)
    target = np.full(int(copied.sum()), mirror.target)
    copies = _logged(
        timestamps[copied],
        tuple(feature[copied] for feature in features),  # type: ignore[arg-type]
        _answered(rng, target, true_logit[copied], old_logit[copied]),
        labels(copied),
        target,
    )
    return pa.concat_tables([served, copies.append_column("request_id", pa.array(ids[copied]))])


def _answered(
    rng: np.random.Generator, versions: np.ndarray, true_logit: np.ndarray, old_logit: np.ndarray
) -> np.ndarray:
    """Each version's score for its rows, by how well it learnt the changed relationship (VERSION_SKILL)."""
    skill = np.array([VERSION_SKILL.get(str(v), 0.0) for v in versions])
    guess = rng.normal(0, 2, versions.size)
    model_logit = np.where(skill > 0, true_logit, np.where(skill < 0, guess, old_logit))
    if np.any(partly := (skill > 0) & (skill < 1)):  # learnt the new relationship, blurred (drawn only then)
        model_logit = np.where(partly, model_logit + (1 - skill) * BLUR * rng.normal(0, 1, versions.size), model_logit)
    return 1 / (1 + np.exp(-(model_logit + rng.normal(0, 0.3, versions.size))))


def write_traffic(
    directory: Path,
    shares: dict[str, int],
    rows: int,
    *,
    end: datetime,
    span: timedelta,
    seed: int,
    mirror: Mirror | None = None,
    labelled: bool = True,
) -> Path:
    """Append one batch of served rows to a Parquet directory, as a logging pipeline would."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    table = served_rows(rng, shares, rows, end=end, span=span, mirror=mirror, labelled=labelled)
    path = directory / f"batch-{end.astimezone(UTC):%Y%m%dT%H%M%S%f}-{seed}.parquet"
    pq.write_table(table, path)
    return path


def serve(
    read_shares: Callable[[], dict[str, int]],
    directory: Path,
    stop: threading.Event,
    *,
    rows: int = 300,
    read_mirror: Callable[[], Mirror] | None = None,
    labelled: bool = True,
) -> int:
    """Serve and log batches until ``stop``: each split by the shares the router holds at that moment.

    ``read_shares`` reads the weights from the real routing object (version -> percent), so
    the logged rows prove which weights took effect; ``read_mirror``, what it mirrors (every
    row then has a request id); ``labelled``: whether the labels come with the rows. Returns the number of
    batches.
    """
    batches, period = 0, 0.4
    while not stop.is_set():
        shares = read_shares()
        if sum(shares.values()):
            now = datetime.now(UTC)
            mirror = read_mirror() if read_mirror is not None else None
            span = timedelta(seconds=period)
            write_traffic(directory, shares, rows, end=now, span=span, seed=batches, mirror=mirror, labelled=labelled)
            batches += 1
        stop.wait(period)
    return batches


def write_validation(path: Path, version: str, *, rows: int = 10_000, seed: int = SEED) -> Path:
    """A version's labelled validation data: rows of the recent population, scored by it (``<arm>.reference``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    table = served_rows(np.random.default_rng(seed), {version: 100}, rows, end=now, span=timedelta(days=7))
    pq.write_table(table, path)
    return path
