"""What every check needs: the spec, the sources and the time windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from modelmonitor.data.source import TableSource, TimeWindow
from modelmonitor.durations import parse_duration
from modelmonitor.spec import DataSource, ModelMonitorSpec


@dataclass(frozen=True)
class CheckContext:
    spec: ModelMonitorSpec
    now: datetime
    current: TableSource
    reference: TableSource

    @property
    def min_samples(self) -> int:
        return self.spec.data.min_samples

    def window(self, source: DataSource, *, shift: int = 0) -> TimeWindow | None:
        """The source's window ending at ``now``, or ``shift`` windows earlier."""
        column = self.spec.data.columns.timestamp
        if column is None:
            return None
        if source.window is None:
            return TimeWindow(column, end=self.now) if shift == 0 else None
        length = parse_duration(source.window)
        end = self.now - shift * length
        return TimeWindow(column, end=end, start=end - length)

    @property
    def current_window(self) -> TimeWindow | None:
        return self.window(self.spec.data.current)

    @property
    def reference_window(self) -> TimeWindow | None:
        if self.spec.data.reference.window is None:
            return None  # the whole reference set, whatever its timestamps
        return self.window(self.spec.data.reference)
