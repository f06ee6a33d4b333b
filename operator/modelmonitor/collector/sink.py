"""Rows written to the sink as Parquet, where ``api.payload_log`` says, under names that make a rewrite harmless.

Each flush covers a range of the write-ahead log and writes, per InferenceService and hour,
``part-FIRST-LAST.parquet``: the same range gives the same name and the same rows, so a flush
that a crash cut short is done again over what it wrote, never beside it. The checkpoint
records the range before the files are written and again once they are all written.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from modelmonitor.api import payload_log

COMPLETED = "_completed"  # the log position that completed a row: not written
FEEDBACK = "_feedback"  # a label row, for the feedback sink: not written


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column mixing kinds (numbers and text): kept as text
        return pa.array([None if value is None else str(value) for value in values], pa.string())


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    """The rows as a table: every column any row has, in the order they first appear."""
    names = list(dict.fromkeys(name for row in rows for name in row if name not in (COMPLETED, FEEDBACK)))
    instant = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            name: pa.array([row[name] for row in rows], instant)
            if name == payload_log.TIME  # every row has its time
            else _column([row.get(name) for row in rows])
            for name in names
        }
    )


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    if "://" in uri:  # s3:// takes the standard AWS variables, AWS_ENDPOINT_URL_S3 among them
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), str(Path(uri).resolve())


@dataclass
class Sink:
    """Where the collector writes: predictions to ``uri``, labels to ``feedback_uri`` (object stores or folders)."""

    uri: str
    feedback_uri: str

    def __post_init__(self) -> None:
        self.filesystem, self.root = _filesystem(self.uri)
        feedback_filesystem, self.feedback_root = _filesystem(self.feedback_uri)
        if type(feedback_filesystem) is not type(self.filesystem):
            raise ValueError(f"the feedback sink {self.feedback_uri} is not in the same storage as {self.uri}")
        # an object store's put is whole or absent; a local file is written aside, then renamed
        self._renamed = isinstance(self.filesystem, pafs.LocalFileSystem)

    def write(self, rows: Iterable[dict[str, Any]], first: int, last: int) -> tuple[int, int]:
        """Write the rows of log range ``first``..``last``; the files and bytes written."""
        groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            root = self.feedback_root if row.get(FEEDBACK) else self.root
            key = (row[payload_log.NAMESPACE] or "_", row[payload_log.INFERENCE_SERVICE] or "_")
            groups[(root, *key, payload_log.hour_folder(row[payload_log.TIME]))].append(row)
        written = 0
        for (root, namespace, service, hour), grouped in groups.items():
            folder = f"{payload_log.service_prefix(root, namespace, service)}/{hour}"
            if self._renamed:  # an object store has no folders: a marker object for one confuses s3fs's listings
                self.filesystem.create_dir(folder, recursive=True)
            name = f"{folder}/part-{first:016d}-{last:016d}.parquet"
            partial = f"{folder}/_part-{first:016d}-{last:016d}.parquet" if self._renamed else name  # _: unread
            with self.filesystem.open_output_stream(partial) as stream:
                pq.write_table(table_of(grouped), stream)
            if partial != name:
                self.filesystem.move(partial, name)
            written += self.filesystem.get_file_info(name).size or 0
        return len(groups), written


@dataclass
class Checkpoint:
    """How far the log is in the sink, and the range a flush is writing: ``checkpoint.json``, replaced atomically."""

    path: Path
    flushed: int = 0
    flushing: tuple[int, int] | None = None

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        if not path.exists():
            return cls(path)
        document = json.loads(path.read_text())
        flushing = document.get("flushing")
        return cls(path, int(document["flushed"]), None if flushing is None else (int(flushing[0]), int(flushing[1])))

    def save(self) -> None:
        partial = self.path.with_suffix(".partial")
        with partial.open("w") as file:
            json.dump({"flushed": self.flushed, "flushing": self.flushing}, file)
            file.flush()
            os.fsync(file.fileno())
        partial.replace(self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
