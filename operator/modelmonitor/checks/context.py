"""What every check needs: the spec, the sources and the time windows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from modelmonitor.api.concept_drift import Baseline
from modelmonitor.api.data import DataSource
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.checks.model_registry import resolved
from modelmonitor.data.label_join import LabelColumns, LabeledSource
from modelmonitor.data.source import open_source
from modelmonitor.data.source_definition import Credentials, Partition, ReadSpan, RowFilter, Source
from modelmonitor.durations import parse_duration

PinnedLabels = tuple[tuple[Partition, ...], tuple[Partition, ...]]  # the labels' slices, for current and reference


@dataclass(frozen=True)
class CheckContext:
    spec: ModelMonitorSpec
    now: datetime
    current: Source
    reference: Source
    _side_counts: dict[bool, int] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def opened(
        cls,
        spec: ModelMonitorSpec,
        now: datetime,
        env: Mapping[str, str] | None,
        pinned_labels: PinnedLabels | None = None,
    ) -> CheckContext:
        """A context over the spec's two sources, opened lazily with ``env`` as their credentials.

        A model in a registry is resolved first (``model_registry``): ``self.spec`` names its version.

        With ``data.labels``, each side is its predictions with the labels joined (``data.label_join``);
        ``pinned_labels``: the label slices to join, as the check's own process listed them.
        """
        spec = resolved(spec, env)  # a registry's alias, at the version it names now
        assert spec.data.reference is not None  # the spec names it, or the registry's artifact does
        current, reference = (
            open_source(source, env, ReadSpan(now, _earliest_start(spec, now, reference=side)))
            for side, source in ((False, spec.data.current), (True, spec.data.reference))
        )
        if spec.data.labels is not None:
            current = _joined(spec, now, current, env, pinned_labels and pinned_labels[0], reference=False)
            reference = _joined(spec, now, reference, env, pinned_labels and pinned_labels[1], reference=True)
        return cls(spec=spec, now=now, current=current, reference=reference)

    def label_slices(self) -> PinnedLabels | None:
        """The labels' slices each side joins, listed once: what the workers of a Dask check join alike."""
        if not isinstance(self.current, LabeledSource) or not isinstance(self.reference, LabeledSource):
            return None
        return self.current.label_slices(), self.reference.label_slices()

    @property
    def min_samples(self) -> int:
        return self.spec.data.min_samples

    def rows(self, source: DataSource, *, shift: int = 0, this_version_only: bool = True) -> RowFilter | None:
        """The rows of a source in its window ending at ``now`` (or ``shift`` windows earlier).

        Logs may hold several model versions (an A/B rollout): with a model version and a
        modelVersion column, only this version's rows count.
        """
        spec = self.spec
        equals: tuple[tuple[str, str], ...] = ()
        if this_version_only and spec.model.version is not None and spec.data.columns.model_version:
            equals = ((spec.data.columns.model_version, spec.model.version),)
        column = spec.data.columns.timestamp
        if shift and (source.window is None or column is None):
            return None  # without a window there is no previous one
        end = start = None
        if column is not None:
            end = self.now
            if source.window is not None:
                length = parse_duration(source.window)
                end = self.now - shift * length
                start = end - length
        if column is None and not equals:
            return None
        return RowFilter(column, end, start, equals)

    def side(self, reference: bool) -> Source:
        return self.reference if reference else self.current

    def side_rows(self, reference: bool) -> RowFilter | None:
        return self.reference_rows if reference else self.current_rows

    def side_partitions(self, reference: bool) -> list[Partition]:
        """One side's slices for the tasks that read it, without the partitions its window skips."""
        return self.side(reference).partitions(self.side_rows(reference))

    def side_count(self, reference: bool) -> int:
        """How many rows one side has in its window, counted once per check."""
        if reference not in self._side_counts:
            self._side_counts[reference] = self.side(reference).count(self.side_rows(reference))
        return self._side_counts[reference]

    @property
    def current_rows(self) -> RowFilter | None:
        return self.rows(self.spec.data.current)

    @property
    def reference_rows(self) -> RowFilter | None:
        """The whole reference set unless it has a window of its own; every model version."""
        if self.spec.data.reference.window is None:
            return None
        return self.rows(self.spec.data.reference, this_version_only=False)


def _joined(
    spec: ModelMonitorSpec,
    now: datetime,
    predictions: Source,
    env: Credentials,
    pinned: tuple[Partition, ...] | None,
    *,
    reference: bool,
) -> LabeledSource:
    """One side's predictions joined with the labels that can belong to them: those known by ``now`` and,
    where the labels have a time, none from before the earliest window the checks read of that side.

    The reference keeps a label column of its own (a labelled training set); the current rows may not have one.
    """
    labels, columns = spec.data.labels, spec.data.columns
    if labels is None or labels.label_column is None or columns.label is None or columns.request_id is None:
        raise ValueError("a join without labels")  # DataSpec fills these in whenever it has labels
    label_rows = None
    if labels.timestamp_column is not None:
        label_rows = RowFilter(labels.timestamp_column, now, _earliest_start(spec, now, reference=reference))
    return LabeledSource(
        predictions,
        open_source(labels, env),
        label_rows,
        columns.request_id,
        LabelColumns(labels.id_column or columns.request_id, labels.label_column, labels.timestamp_column),
        columns.label,
        keep_own=reference,
        pinned=pinned,
    )


def _earliest_start(spec: ModelMonitorSpec, now: datetime, *, reference: bool) -> datetime | None:
    """Where the earliest window read of a side starts: the current one's, or the one before it when a
    previousWindow check reads that too; None: a side read whole."""
    source = spec.data.reference if reference else spec.data.current
    if source.window is None:
        return None
    previous = not reference and any(check.baseline is Baseline.PREVIOUS_WINDOW for check in spec.concept_drift)
    return now - (2 if previous else 1) * parse_duration(source.window)
