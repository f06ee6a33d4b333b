"""A monitor's runs as TensorBoard scalars: read back with TensorBoard's own loader and served by a real tensorboard."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.results import Results
from modelmonitor.checks import run_checks
from modelmonitor.data.table import storage_options
from modelmonitor.errors import SourceError
from modelmonitor.exports.scalars import scalars
from modelmonitor.exports.tensorboard import PREFIX, ExportError, file_name, step_of, write_run
from modelmonitor_tools.devcluster.object_store import ObjectStore
from modelmonitor_tools.devcluster.processes import free_port, stop_pid
from tests.browser import chromium, visit
from tests.checks.conftest import NOW, logged, spec_for
from tests.helpers import eventually

HOURS = (0, 6, 12)  # three runs, six hours apart


def _runs(tmp_path: Path) -> list[Results]:
    pq.write_table(logged(4000, seed=1), tmp_path / "reference.parquet")
    pq.write_table(logged(6000, seed=2, hours=40, shift=0.3, accuracy=0.82), tmp_path / "current.parquet")
    spec = spec_for(tmp_path / "current.parquet", tmp_path / "reference.parquet")
    spec["conceptDrift"] = [{"method": "performanceWindow", "metric": "accuracy"}, {"method": "ddm"}]
    parsed = parse_spec(spec)
    return [run_checks(parsed, now=NOW - timedelta(hours=12 - hours), name="m") for hours in HOURS]


def _loaded(log_dir: Path) -> Any:
    """TensorBoard's own loader over the folder, every scalar kept."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    return accumulator


def test_each_run_is_a_step_of_every_scalar_as_tensorboard_reads_it(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    log_dir = tmp_path / "tensorboard"
    for number, results in enumerate(runs):
        write_run(results, log_dir, f"m-{number}")
    loaded = _loaded(log_dir)
    tags = set(loaded.Tags()["scalars"])
    assert {"metrics/accuracy", "metrics/accuracy/min", "metrics/rocAuc", "drift/share", "drift/x"} <= tags
    assert {"concept/performanceWindow/accuracy/pValue", "concept/ddm/statistic", "window/rows"} <= tags
    steps = [step_of(results) for results in runs]
    assert steps == sorted(steps) and len(set(steps)) == 3
    for tag in ("metrics/accuracy", "drift/share", "drift/x", "concept/performanceWindow/accuracy/statistic"):
        events = loaded.Scalars(tag)
        assert [event.step for event in events] == steps
        assert [event.wall_time for event in events] == [float(step) for step in steps]  # the window's end
        expected = [scalars(results)[tag] for results in runs]
        assert [event.value for event in events] == pytest.approx(expected, rel=1e-6)  # stored as float32
    assert [event.value for event in loaded.Scalars("metrics/accuracy/min")] == pytest.approx([0.8] * 3)
    assert "metrics/accuracy/max" not in tags  # no threshold, no scalar


def test_a_run_written_again_replaces_its_file_and_adds_no_point(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    log_dir = tmp_path / "tensorboard"
    for _ in range(2):  # the operator, then `modelmonitor export tensorboard` over the same runs
        for number, results in enumerate(runs):
            write_run(results, log_dir, f"m-{number}")
    assert sorted(path.name for path in log_dir.iterdir()) == [
        f"{PREFIX}.{step_of(results):012d}.m-{number}" for number, results in enumerate(runs)
    ]
    assert len(_loaded(log_dir).Scalars("metrics/accuracy")) == 3


@pytest.mark.timeout(300)
def test_a_real_tensorboard_serves_the_series_and_draws_it(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    log_dir = tmp_path / "tensorboard" / "credit-risk"
    for number, results in enumerate(runs):
        write_run(results, log_dir, f"m-{number}")
    port = free_port()
    log = (tmp_path / "tensorboard.log").open("wb")
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(log_dir.parent)]
    server = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"

        def served() -> list | None:
            query = urllib.parse.urlencode({"run": "credit-risk", "tag": "metrics/accuracy"})
            try:
                with urllib.request.urlopen(f"{base}/data/plugin/scalars/scalars?{query}", timeout=5) as response:
                    return json.loads(response.read()) or None
            except OSError:
                assert server.poll() is None, (tmp_path / "tensorboard.log").read_text()[-2000:]
                return None

        series = eventually(served, timeout=120, interval=1, what="tensorboard serving the accuracy series")
        assert [(wall_time, step) for wall_time, step, _ in series] == [(float(step_of(r)), step_of(r)) for r in runs]
        assert [value for _, _, value in series] == pytest.approx([r.metrics[0].value for r in runs], rel=1e-6)
        with chromium() as browser:
            seen = visit(browser, f"{base}/#scalars&tagFilter=%5Emetrics%2F")
            seen.page.get_by_text("tag: metrics/accuracy", exact=True).wait_for(timeout=60_000)
            seen.page.wait_for_timeout(2_000)  # the chart draws after its data arrive
            assert seen.screenshot("tensorboard-scalars").stat().st_size > 10_000
    finally:
        stop_pid(server.pid, timeout=20)
        log.close()


def test_the_command_exports_stored_runs_named_after_their_monitor_runs(tmp_path: Path) -> None:
    from modelmonitor.cli import main

    runs = _runs(tmp_path)
    stored = []
    for number, results in enumerate(runs):
        run = {"metadata": {"name": f"m-2026112{number}"}, "spec": {"monitor": "m"}, "status": {}}
        run["status"]["results"] = results.to_document()
        stored.append(tmp_path / f"run-{number}.json")
        stored[-1].write_text(json.dumps(run))
    plain = tmp_path / "results.json"
    plain.write_text(json.dumps(runs[0].to_document()))  # a results document has no run name: the monitor's, step
    log_dir = tmp_path / "exported"
    assert main(["export", "tensorboard", "--from-run", *map(str, stored), str(plain), "--logdir", str(log_dir)]) == 0
    names = sorted(path.name.rsplit(".", 1)[1] for path in log_dir.iterdir())
    assert names == [f"m-{step_of(runs[0])}", "m-20261120", "m-20261121", "m-20261122"]
    assert len(_loaded(log_dir).Scalars("metrics/accuracy")) == 4


def test_the_command_says_what_is_wrong_with_what_it_was_given(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from modelmonitor.cli import main

    assert main(["export", "tensorboard", "--monitor", "credit-risk", "--logdir", str(tmp_path)]) == 2
    assert "--monitor credit-risk: name it NAMESPACE/NAME" in capsys.readouterr().err
    (tmp_path / "spec.json").write_text(json.dumps({"spec": {}}))
    assert main(["export", "tensorboard", "--from-run", str(tmp_path / "spec.json"), "--logdir", str(tmp_path)]) == 2
    assert "not a results document" in capsys.readouterr().err


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    running = ObjectStore(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        running.create_bucket("tensorboard")
        yield running
    finally:
        running.stop()


def _downloaded(store: ObjectStore, prefix: str, into: Path) -> list[str]:
    """The objects under ``prefix`` copied into ``into`` (TensorBoard's loader reads a folder); their names."""
    filesystem = store.filesystem()
    found = filesystem.get_file_info(pafs.FileSelector(prefix, allow_not_found=True))
    into.mkdir(parents=True, exist_ok=True)
    for info in found:
        with filesystem.open_input_stream(info.path) as stream:
            (into / info.base_name).write_bytes(stream.read())
    return sorted(info.base_name for info in found)


def test_runs_are_written_into_an_object_store_with_the_credentials_given(store: ObjectStore, tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    log_dir = "s3://tensorboard/ml/credit-risk"
    options = storage_options(log_dir, store.environment())  # the monitor's Secret, as the operator passes it
    for _ in range(2):  # written again: replaced, not doubled
        for number, results in enumerate(runs):
            name = file_name(results, f"m-{number}")
            assert write_run(results, log_dir, f"m-{number}", options) == f"{log_dir}/{name}"
    names = _downloaded(store, "tensorboard/ml/credit-risk", tmp_path / "downloaded")
    assert names == [file_name(results, f"m-{number}") for number, results in enumerate(runs)]
    values = [event.value for event in _loaded(tmp_path / "downloaded").Scalars("metrics/accuracy")]
    assert values == pytest.approx([scalars(results)["metrics/accuracy"] for results in runs])


def test_a_wrong_key_or_an_unwritable_storage_is_an_export_error_naming_the_folder(
    store: ObjectStore, tmp_path: Path
) -> None:
    [results] = _runs(tmp_path)[:1]
    wrong = storage_options("s3://tensorboard/x", {**store.environment(), "AWS_SECRET_ACCESS_KEY": "not-the-key"})
    with pytest.raises(ExportError, match=r"s3://tensorboard/x: cannot write the event file") as refused:
        write_run(results, "s3://tensorboard/x", "m-0", wrong)
    assert "not-the-key" not in str(refused.value) and store.secret_key not in str(refused.value)
    with pytest.raises(SourceError, match=r"cannot be written to: use a path, file://, gs:// or s3://"):
        storage_options("https://example.org/tensorboard", None)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(ExportError, match=r"a-file: cannot write the event file"):
        write_run(results, blocked, "m-0")


def test_the_command_writes_into_an_object_store_as_the_environment_reaches_it(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelmonitor.cli import main

    plain = tmp_path / "results.json"
    [results] = _runs(tmp_path)[:1]
    plain.write_text(json.dumps(results.to_document()))
    for variable, value in store.environment().items():
        monkeypatch.setenv(variable, value)
    assert main(["export", "tensorboard", "--from-run", str(plain), "--logdir", "s3://tensorboard/from-cli"]) == 0
    assert _downloaded(store, "tensorboard/from-cli", tmp_path / "cli") == [file_name(results, f"m-{step_of(results)}")]
