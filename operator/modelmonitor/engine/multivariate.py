"""Multivariate drift: a change in how the features relate to each other, which every marginal may hide.

Each method is one module of ``modelmonitor.engine.multivariate_methods`` ending in its ``METHOD``,
named as the spec names it (``pcaReconstruction``: ``pca_reconstruction.py``). A method takes the
two samples as a :class:`Frame` (numbers as they are, categories as text) and says what it measured.
The encoding they share is here: categories by their frequency in the reference (NannyML's
choice for its reconstruction drift, an unseen one at 0), missing numbers by the reference's
mean, then every column standardised on the reference.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelmonitor.api.vocabulary import snake_case
from modelmonitor.engine import multivariate_methods


@dataclass(frozen=True)
class Frame:
    """Rows of features: ``numbers`` (float, NaN for missing) and ``categories`` (text, None for missing)."""

    numbers: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    categories: dict[str, NDArray[np.object_]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        for values in (*self.numbers.values(), *self.categories.values()):
            return len(values)
        return 0

    @property
    def columns(self) -> list[str]:
        return [*self.numbers, *self.categories]


@dataclass(frozen=True)
class MultivariateMeasured:
    """What a method found: its statistic, the threshold it was held to, whether that drifts, and why.

    ``details``: the figures behind it, by the method (components kept, the reference's value, an
    interval, the features that separate the samples most).
    """

    statistic: float
    threshold: float
    drifted: bool
    reason: str
    p_value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


MultivariateForm = Callable[[Frame, Frame, "MultivariateSettings"], MultivariateMeasured]


@dataclass(frozen=True)
class MultivariateSettings:
    """The spec's settings for every method: the level of a test, the variance PCA keeps, a seed."""

    alpha: float = 0.05
    variance_explained: float = 0.65
    seed: int = 0


@dataclass(frozen=True)
class MultivariateMethodDefinition:
    measure: MultivariateForm
    citation: str


def method(name: str) -> MultivariateMethodDefinition:
    """The method the spec names (``pcaReconstruction``), from its module."""
    found: MultivariateMethodDefinition = importlib.import_module(
        f"{multivariate_methods.__name__}.{snake_case(name)}"
    ).METHOD
    return found


@dataclass(frozen=True)
class Encoder:
    """The reference's encoding: each category's frequency, each number's mean, each column's mean and scale."""

    frequencies: dict[str, dict[str, float]]
    fill: dict[str, float]
    center: NDArray[np.float64]
    scale: NDArray[np.float64]

    @classmethod
    def fitted(cls, reference: Frame) -> Encoder:
        frequencies = {}
        for name, values in reference.categories.items():
            present = [value for value in values if value is not None]
            distinct, counts = np.unique(np.asarray(present, dtype=str), return_counts=True)
            frequencies[name] = dict(zip(distinct.tolist(), (counts / max(len(present), 1)).tolist(), strict=True))
        fill = {
            name: float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else 0.0
            for name, values in reference.numbers.items()
        }
        raw = cls(frequencies, fill, np.zeros(0), np.ones(0))._raw(reference)
        center, scale = raw.mean(axis=0), raw.std(axis=0)
        return cls(frequencies, fill, center, np.where(scale > 0, scale, 1.0))

    def _raw(self, frame: Frame) -> NDArray[np.float64]:
        columns = [np.where(np.isfinite(values), values, self.fill[name]) for name, values in frame.numbers.items()]
        for name, values in frame.categories.items():
            known = self.frequencies[name]
            columns.append(np.array([known.get(str(value), 0.0) if value is not None else 0.0 for value in values]))
        return np.column_stack(columns) if columns else np.zeros((frame.rows, 0))

    def encoded(self, frame: Frame) -> NDArray[np.float64]:
        """The frame as standardised numbers, one column per feature, in the reference's terms."""
        return (self._raw(frame) - self.center) / self.scale
