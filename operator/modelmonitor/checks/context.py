"""What every check needs: the spec, the sources and the time windows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from modelmonitor.api.data import DataSource
from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.data.source import open_source
from modelmonitor.data.source_definition import Partition, RowFilter, Source
from modelmonitor.durations import parse_duration


@dataclass(frozen=True)
class CheckContext:
    spec: ModelMonitorSpec
    now: datetime
    current: Source
    reference: Source
    _side_counts: dict[bool, int] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def opened(cls, spec: ModelMonitorSpec, now: datetime, env: Mapping[str, str] | None) -> CheckContext:
        """A context over the spec's two sources, opened lazily with ``env`` as their credentials."""
        current, reference = spec.data.current, spec.data.reference
        return cls(
            spec=spec,
            now=now,
            current=open_source(current, env),
            reference=open_source(reference, env),
        )

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
