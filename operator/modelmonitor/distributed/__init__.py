"""Checks beyond one machine: the per-feature drift work on a Dask cluster's workers."""

from modelmonitor.distributed.dask_measurer import DaskMeasurer, DaskUnavailable

__all__ = ["DaskMeasurer", "DaskUnavailable"]
