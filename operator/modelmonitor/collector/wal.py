"""The collector's write-ahead log: an event is acknowledged only once it is on disk.

Records are appended to a buffer as they arrive and written, then fsynced, by one call for
all of them (group commit): a sender waits for one fsync however many send at once. A record
is framed by its length and CRC32, so a write cut short by a crash (``kill -9``, power loss)
is found at the next start and cut off: it was never acknowledged. The log is a sequence of
segment files named by their first record's number; whole segments are deleted once every
row they hold is in the sink and no event in them waits for its other half.
"""

from __future__ import annotations

import itertools
import json
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FRAME = struct.Struct(">II")  # payload length, CRC32 of the payload
_SUFFIX = ".wal"


@dataclass(frozen=True)
class Record:
    seq: int
    header: dict[str, Any]
    data: bytes


def encode(seq: int, header: dict[str, Any], data: bytes) -> bytes:
    """A record's bytes; ``header`` gains its number (a JSON object: the log stays readable by any tool)."""
    header["seq"] = seq
    payload = json.dumps(header, separators=(",", ":")).encode() + b"\n" + data
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _decode(payload: bytes) -> Record:
    text, _, data = payload.partition(b"\n")
    header = json.loads(text)
    return Record(int(header.pop("seq")), header, data)


class WriteAheadLog:
    def __init__(self, directory: Path, segment_bytes: int = 64 << 20) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # appends come from the event loop, syncs from a worker thread
        self._sync_lock = threading.Lock()  # one sync at a time: chunks reach the file in the order they were cut
        self._buffer = bytearray()
        self._buffered_through = 0
        self.next_seq = 1
        self.durable_seq = 0
        self._file: Any = None
        self._file_bytes = 0

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob(f"*{_SUFFIX}"))

    def recover(self) -> Iterator[Record]:
        """Every whole record on disk, in order; a torn tail is cut off. Call once, before appending."""
        segments = self.segments()
        for index, segment in enumerate(segments):
            body = segment.read_bytes()
            offset = 0
            while offset + _FRAME.size <= len(body):
                length, crc = _FRAME.unpack_from(body, offset)
                payload = body[offset + _FRAME.size : offset + _FRAME.size + length]
                if len(payload) < length or zlib.crc32(payload) != crc:
                    break
                record = _decode(payload)
                self.next_seq = record.seq + 1
                yield record
                offset += _FRAME.size + length
            if offset < len(body):
                if index != len(segments) - 1:
                    raise OSError(f"write-ahead log segment {segment} is damaged at byte {offset}, not at its end")
                with segment.open("r+b") as torn:  # never acknowledged: its sender is told to retry
                    torn.truncate(offset)
                    os.fsync(torn.fileno())
        self.durable_seq = self.next_seq - 1
        self._buffered_through = self.durable_seq

    def append(self, header: dict[str, Any], data: bytes = b"") -> int:
        """Buffer one record; its number. It is durable once ``sync`` has returned a number at least this."""
        with self._lock:
            seq = self.next_seq
            self.next_seq += 1
            self._buffer += encode(seq, header, data)
            self._buffered_through = seq
            return seq

    def sync(self) -> int:
        """Write and fsync what is buffered; the number of the last durable record (blocking)."""
        with self._sync_lock:
            with self._lock:
                chunk, self._buffer = self._buffer, bytearray()
                through = self._buffered_through
            if chunk:
                if self._file is None or self._file_bytes >= self.segment_bytes:
                    self._rotate(first_seq=self.durable_seq + 1)
                self._file.write(chunk)
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file_bytes += len(chunk)
            self.durable_seq = through
            return through

    def _rotate(self, first_seq: int) -> None:
        if self._file is not None:
            self._file.close()
        self._file = (self.directory / f"{first_seq:016d}{_SUFFIX}").open("ab")
        self._file_bytes = self._file.tell()
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new file's name is durable too
        finally:
            os.close(directory)

    def drop_before(self, seq: int, modified_before: float) -> int:
        """Delete the closed segments whose records all come before ``seq`` and that were last written before
        ``modified_before`` (a time.time()); how many. What is kept serves to know retried events after a restart."""
        segments = self.segments()
        dropped = 0
        for segment, following in itertools.pairwise(segments):
            if int(following.stem) > seq or segment.stat().st_mtime >= modified_before:  # the open one is last
                break
            segment.unlink()
            dropped += 1
        return dropped

    def backlog_bytes(self) -> int:
        return sum(segment.stat().st_size for segment in self.segments()) + len(self._buffer)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
