"""The write-ahead log: what was synced comes back in order, a torn tail is cut off, old segments go."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from modelmonitor.collector.wal import WriteAheadLog, encode


def _log(directory: Path, records: int, segment_bytes: int = 64 << 20) -> WriteAheadLog:
    wal = WriteAheadLog(directory, segment_bytes=segment_bytes)
    list(wal.recover())
    for number in range(records):
        wal.append({"kind": "request", "id": f"e{number}"}, f"payload {number}".encode())
        if number % 7 == 6:
            wal.sync()
    wal.sync()
    wal.close()
    return wal


def test_synced_records_come_back_in_order_across_segments(tmp_path: Path) -> None:
    _log(tmp_path, 100, segment_bytes=500)
    assert len(list(tmp_path.glob("*.wal"))) > 3
    again = WriteAheadLog(tmp_path)
    records = list(again.recover())
    assert [r.seq for r in records] == list(range(1, 101))
    assert records[41].header == {"kind": "request", "id": "e41"} and records[41].data == b"payload 41"
    assert again.next_seq == 101 and again.durable_seq == 100


@pytest.mark.parametrize("cut", [1, 5, 9, 20])
def test_a_torn_last_record_is_cut_off_and_the_log_goes_on(tmp_path: Path, cut: int) -> None:
    """A crash in the middle of a write: that record was never acknowledged, so it is dropped, not the log."""
    _log(tmp_path, 10)
    [segment] = tmp_path.glob("*.wal")
    torn = encode(11, {"kind": "request", "id": "torn"}, b"x" * 30)[:cut]
    with segment.open("ab") as file:
        file.write(torn)
    wal = WriteAheadLog(tmp_path)
    assert [r.seq for r in wal.recover()] == list(range(1, 11))
    assert segment.stat().st_size == len(
        b"".join(encode(n, {"kind": "request", "id": f"e{n - 1}"}, f"payload {n - 1}".encode()) for n in range(1, 11))
    )
    assert wal.append({"kind": "request", "id": "next"}) == 11
    wal.sync()
    assert [r.header["id"] for r in WriteAheadLog(tmp_path).recover()][-1] == "next"


def test_damage_before_the_end_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    _log(tmp_path, 60, segment_bytes=300)
    first = sorted(tmp_path.glob("*.wal"))[0]
    body = bytearray(first.read_bytes())
    body[12] ^= 0xFF
    first.write_bytes(bytes(body))
    with pytest.raises(OSError, match="damaged at byte 0, not at its end"):
        list(WriteAheadLog(tmp_path).recover())


def test_segments_go_once_no_record_in_them_is_needed_and_they_are_old_enough(tmp_path: Path) -> None:
    wal = _log(tmp_path, 100, segment_bytes=400)
    segments = sorted(tmp_path.glob("*.wal"))
    firsts = [int(s.stem) for s in segments]
    assert wal.drop_before(firsts[2], modified_before=time.time() - 3600) == 0  # too recent: kept for retries
    for segment in segments:
        os.utime(segment, (time.time() - 7200, time.time() - 7200))
    assert wal.drop_before(firsts[2], modified_before=time.time() - 3600) == 2
    assert [int(s.stem) for s in sorted(tmp_path.glob("*.wal"))] == firsts[2:]
    assert wal.drop_before(10**9, modified_before=time.time()) == len(firsts) - 3  # never the last one
