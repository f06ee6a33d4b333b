"""The data layer: reads logged predictions and reference data, nothing else."""

from modelmonitor.data.source import TableSource, open_source

__all__ = ["TableSource", "open_source"]
