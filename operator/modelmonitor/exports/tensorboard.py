"""A monitor's runs as TensorBoard scalars, so its history sits beside training curves in the same UI.

Each run becomes one event file of scalar summaries, written with tensorboardX (a maintained
writer of TensorBoard's own event format): each metric and its ``min``/``max`` thresholds as
separate tags, its CBPE estimate, each feature's drift statistic, the drift share, and each
concept-drift check's statistic and p-value. The step is the window's end in seconds since the
epoch, which grows run by run; the wall time is the same moment. The file is named after the
step and the run (``events.out.tfevents.<step>.<run>``), so writing a run again replaces its
file instead of doubling its points: the operator and ``modelmonitor export tensorboard`` may
both write the same run. The folder may be local or in an object store (any fsspec URI; the
caller passes the storage's options, which the data layer knows).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from modelmonitor.api.results import Results
from modelmonitor.errors import ModelMonitorError
from modelmonitor.exports.scalars import scalars

PREFIX = "events.out.tfevents"
INSTALL = "modelmonitor[tensorboard]"


class ExportError(ModelMonitorError):
    """The results cannot be written where the export says: a missing writer, or a folder that cannot be written."""


def step_of(results: Results) -> int:
    """The run's step: its window's end, in whole seconds since the epoch."""
    return int(datetime.fromisoformat(results.window.end).timestamp())


def _event_file(results: Results, scratch: str) -> str:
    """Write the run's scalars with tensorboardX into the empty folder ``scratch``; the file's path."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ExportError(
            "the tensorboard export needs tensorboardX: pip install 'modelmonitor[tensorboard]'"
        ) from None
    step = step_of(results)
    writer = SummaryWriter(logdir=scratch, flush_secs=3600)
    try:
        for tag, value in scalars(results).items():
            writer.add_scalar(tag, value, global_step=step, walltime=float(step))
    finally:
        writer.close()
    [written] = [entry.path for entry in os.scandir(scratch) if entry.name.startswith(PREFIX)]
    return written


def file_name(results: Results, run: str) -> str:
    return f"{PREFIX}.{step_of(results):012d}.{run}"


def write_run(results: Results, log_dir: str | Path, run: str, storage_options: dict[str, Any] | None = None) -> str:
    """Write the run's scalars into ``log_dir`` as one event file; where it went.

    ``log_dir`` is a folder (created if needed) or an object-store URI, which fsspec opens with
    ``storage_options`` (the storage's own, from the data layer). A local file is written aside,
    then renamed into place; an object store's upload is whole or absent by itself.
    """
    log_dir = str(log_dir)
    local = "://" not in log_dir or log_dir.startswith("file://")
    with tempfile.TemporaryDirectory(prefix="modelmonitor-tensorboard-") as scratch:
        written = _event_file(results, scratch)
        if local:
            return str(_place_locally(written, Path(log_dir.removeprefix("file://")), file_name(results, run), run))
        return _upload(written, log_dir, file_name(results, run), storage_options or {})


def _place_locally(written: str, log_dir: Path, name: str, run: str) -> Path:
    target, partial = log_dir / name, log_dir / f".partial-{run}"  # no "tfevents": TensorBoard never reads half
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(written, partial)
        os.replace(partial, target)
    except OSError as error:
        raise ExportError(f"{log_dir}: cannot write the event file ({error.strerror or error})") from None
    return target


def _upload(written: str, log_dir: str, name: str, storage_options: dict[str, Any]) -> str:
    import fsspec

    target = f"{log_dir.rstrip('/')}/{name}"
    try:
        filesystem, path = fsspec.core.url_to_fs(target, skip_instance_cache=True, **storage_options)
        filesystem.put_file(written, path)
    except ImportError as error:
        raise ExportError(f"{log_dir}: no client for this storage is installed ({error})") from None
    except Exception as error:  # fsspec's storages raise their clients' own errors (botocore's, gcsfs's)
        raise ExportError(f"{log_dir}: cannot write the event file ({type(error).__name__}: {error})") from None
    return target
