"""How often CBPE's 95 % intervals hold the value the labels give afterwards, per metric.

    python benchmarks/cbpe_coverage.py [--seeds 200] [--draws 500 300]

Each seed calibrates on 5,000 labeled reference rows of an overconfident model, estimates each
metric on 2,000 new rows from their scores alone, then compares with the metric their labels
give. Printed per metric: the share of seeds whose interval held it, for a binary model (also
under a covariate shift that keeps the calibration) and a three-class softmax model. The draws
default to the tests' (500 binary, 300 multiclass) rather than the operator's 1,000, for speed.
``tests/engine/test_cbpe.py`` and ``test_cbpe_multiclass.py`` assert on these simulations.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np
from sklearn import metrics as sk

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))

from modelmonitor.api.metrics import MetricName
from modelmonitor.engine.cbpe import ESTIMABLE, Calibration, calibrate, estimate
from modelmonitor.engine.cbpe_multiclass import (
    MULTICLASS_ESTIMABLE,
    ClassCalibration,
    calibrate_classes,
    estimate_classes,
)

REFERENCE_ROWS, WINDOW_ROWS = 5000, 2000

BINARY_REALIZED = {
    MetricName.ACCURACY: lambda y, yhat, s: sk.accuracy_score(y, yhat),
    MetricName.PRECISION: lambda y, yhat, s: sk.precision_score(y, yhat),
    MetricName.RECALL: lambda y, yhat, s: sk.recall_score(y, yhat),
    MetricName.F1: lambda y, yhat, s: sk.f1_score(y, yhat),
    MetricName.BALANCED_ACCURACY: lambda y, yhat, s: sk.balanced_accuracy_score(y, yhat),
    MetricName.ROC_AUC: lambda y, yhat, s: sk.roc_auc_score(y, s),
    MetricName.LOG_LOSS: lambda y, yhat, s: sk.log_loss(y, s),
}

CLASS_WEIGHTS = np.array([[1.5, 0.0], [0.0, 1.5], [-1.0, -1.2]])  # three classes' logits over two features
CLASS_AVERAGE = {MetricName.RECALL: "weighted"}  # one metric with the other average; the rest macro
MULTICLASS_REALIZED = {
    MetricName.ACCURACY: lambda y, yhat: sk.accuracy_score(y, yhat),
    MetricName.PRECISION: lambda y, yhat: sk.precision_score(y, yhat, average="macro", zero_division=0),
    MetricName.RECALL: lambda y, yhat: sk.recall_score(y, yhat, average="weighted", zero_division=0),
    MetricName.F1: lambda y, yhat: sk.f1_score(y, yhat, average="macro", zero_division=0),
    MetricName.BALANCED_ACCURACY: lambda y, yhat: sk.balanced_accuracy_score(y, yhat),
}


def binary_scored(rng: np.random.Generator, rows: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Scores from a logistic model over one feature, and labels drawn from the true probability.

    The model's scores are miscalibrated (too confident): calibration has work to do. ``shift``
    moves the feature (covariate shift): the relationship, and so the calibration, is kept.
    """
    feature = rng.normal(shift, 1.0, rows)
    truth = 1 / (1 + np.exp(-(1.5 * feature - 0.5)))
    score = 1 / (1 + np.exp(-(2.5 * feature - 0.8)))
    return score, rng.random(rows) < truth


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _draw_classes(rng: np.random.Generator, probability: np.ndarray) -> np.ndarray:
    return (rng.random((probability.shape[0], 1)) >= np.cumsum(probability, axis=1)[:, :-1]).sum(axis=1)


def multiclass_scored(rng: np.random.Generator, rows: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-class scores of an overconfident softmax model, and labels drawn from the true class probabilities.

    ``shift`` moves both features (covariate shift): the relationship, and so the calibration, is kept.
    """
    features = rng.normal(shift, 1.0, (rows, 2))
    logits = features @ CLASS_WEIGHTS.T
    return _softmax(2.2 * logits + 0.3), _draw_classes(rng, _softmax(logits))


@functools.cache
def binary_calibrated(seed: int) -> Calibration:
    """The calibration of one seed's reference rows, shared by every metric."""
    return calibrate(*binary_scored(np.random.default_rng(seed), REFERENCE_ROWS))


@functools.cache
def multiclass_calibrated(seed: int) -> ClassCalibration:
    return calibrate_classes(*multiclass_scored(np.random.default_rng(seed), REFERENCE_ROWS))


def binary_coverage(
    metric: MetricName, seeds: int, shift: float = 0.0, concept: bool = False, draws: int = 500
) -> float:
    """The share of seeds whose interval held the realized value; ``concept``: the labels stop following the scores."""
    inside = 0
    for seed in range(seeds):
        calibration = binary_calibrated(seed)
        rng = np.random.default_rng(10_000 + seed)
        score, label = binary_scored(rng, WINDOW_ROWS, shift)
        if concept:
            label = rng.random(score.size) < 1 / (1 + np.exp(-0.2 * np.log(score / (1 - score))))
        probability, resampled = calibration.probability(score), calibration.resampled_probabilities(score)
        found = estimate(metric, probability, resampled, score >= 0.5, score, draws=draws, seed=seed)
        realized = BINARY_REALIZED[metric](label, score >= 0.5, score)
        inside += found.lower <= realized <= found.upper
    return inside / seeds


def multiclass_coverage(
    metric: MetricName, seeds: int, shift: float = 0.0, concept: bool = False, draws: int = 300
) -> float:
    inside = 0
    for seed in range(seeds):
        calibration = multiclass_calibrated(seed)
        rng = np.random.default_rng(10_000 + seed)
        scores, label = multiclass_scored(rng, WINDOW_ROWS, shift)
        if concept:
            label = rng.integers(0, 3, label.size)
        predicted = scores.argmax(axis=1)
        found = estimate_classes(
            metric,
            calibration.probability(scores),
            calibration.resampled_probabilities(scores),
            predicted,
            average=CLASS_AVERAGE.get(metric, "macro"),
            draws=draws,
            seed=seed,
        )
        inside += found.lower <= MULTICLASS_REALIZED[metric](label, predicted) <= found.upper
    return inside / seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--draws", type=int, nargs=2, default=[500, 300], metavar=("BINARY", "MULTICLASS"))
    options = parser.parse_args()
    binary_draws, multiclass_draws = options.draws
    print(f"{options.seeds} seeds; draws: binary {binary_draws}, multiclass {multiclass_draws}")
    print(f"{'model':<22} {'metric':<17} {'coverage':>8} {'time':>6}")
    rows = [("binary", metric, functools.partial(binary_coverage, draws=binary_draws)) for metric in ESTIMABLE]
    rows += [
        ("binary, shift 0.8", metric, functools.partial(binary_coverage, shift=0.8, draws=binary_draws))
        for metric in ESTIMABLE
    ]
    rows += [
        ("three classes", metric, functools.partial(multiclass_coverage, draws=multiclass_draws))
        for metric in MULTICLASS_ESTIMABLE
    ]
    for model, metric, coverage in rows:
        started = time.perf_counter()
        share = coverage(metric, options.seeds)
        print(f"{model:<22} {metric:<17} {share:>8.1%} {time.perf_counter() - started:>5.0f}s", flush=True)


if __name__ == "__main__":
    main()
