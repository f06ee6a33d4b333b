"""The modelmonitor command line: exit codes, output formats and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelmonitor import cli
from modelmonitor.cli import main
from modelmonitor_tools.samples import write_samples
from tests.checks.conftest import NOW

NOW_TEXT = "2026-11-23T12:00:00Z"


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("samples")
    write_samples(directory, now=NOW)
    return directory


def test_a_healthy_monitor_exits_0_with_json(samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-f", str(samples / "healthy-monitor.yaml"), "--now", NOW_TEXT, "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["healthy"] is True and document["monitor"] == "credit-risk-healthy"
    assert {m["name"] for m in document["metrics"]} == {"accuracy", "rocAuc", "f1"}


def test_a_drifted_monitor_exits_1_with_a_table(samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-f", str(samples / "drifted-monitor.yaml"), "--now", NOW_TEXT]) == 1
    out = capsys.readouterr().out
    assert "credit-risk-drifted: UNHEALTHY (Failed)" in out
    assert "DATA DRIFT: 75% of features drifted" in out
    assert "ddm                Failed  drift detected at row" in out


def test_an_invalid_spec_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: modelmonitor.io/v1alpha1\nkind: ModelMonitor\nmetadata: {name: x}\n"
        "spec:\n  model: {name: m, task: regression}\n  schedule: {interval: 10s}\n"
        "  data: {current: {uri: a}, reference: {uri: b}}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "modelmonitor", "check", "-f", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {bad}: spec.schedule: interval must be at least 1m\n"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("gone.parquet", "no such file or directory"),
        # these said "no such file or directory" and "column 'model_version': not found in ... (columns: )"
        ("/dev/zero", "not a regular file or directory (a device, pipe or socket)"),
        ("empty", "no data files in this directory (names starting with . or _ are skipped)"),
    ],
)
def test_unreadable_data_exits_2_saying_what_is_wrong(samples: Path, tmp_path: Path, where: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    uri = where if where.startswith("/") else f"{tmp_path}/{where}"
    monitor = (samples / "healthy-monitor.yaml").read_text().replace(f"{samples}/healthy.parquet", uri)
    path = tmp_path / "monitor.yaml"
    path.write_text(monitor)
    result = subprocess.run(
        [sys.executable, "-m", "modelmonitor", "check", "-f", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {uri}: {message}\n"
    assert "Traceback" not in result.stderr


def test_a_missing_column_exits_2_naming_it(samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monitor = (samples / "healthy-monitor.yaml").read_text().replace("categorical: [region]", "features: [age, wealth]")
    path = tmp_path / "monitor.yaml"
    path.write_text(monitor)
    assert main(["check", "-f", str(path), "--now", NOW_TEXT, "-o", "json"]) == 2
    err = capsys.readouterr().err
    assert "error: credit-risk-healthy: drift wealth: column 'wealth': not found" in err


def test_a_registry_that_cannot_be_reached_exits_2_naming_it(
    samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from modelmonitor_tools.devcluster.processes import free_port

    away = f"http://127.0.0.1:{free_port()}"
    document = yaml.safe_load((samples / "healthy-monitor.yaml").read_text())
    del document["spec"]["data"]["reference"]
    document["spec"]["model"].pop("version", None)
    registered = {"trackingUri": away, "name": "credit-risk", "alias": "champion"}
    document["spec"]["model"]["mlflow"] = {**registered, "referenceArtifact": "data/reference.parquet"}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["check", "-f", str(path), "--now", NOW_TEXT, "-o", "json"]) == 2
    err = capsys.readouterr().err
    assert f"error: MLflow at {away}: the version of registered model 'credit-risk' aliased 'champion'" in err
    assert "cannot be reached" in err and "Traceback" not in err


def test_validate_reports_each_file(samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: modelmonitor.io/v1alpha1\nkind: ModelMonitor\nmetadata: {name: y}\nspec: {}\n")
    assert main(["validate", "-f", str(samples / "healthy-monitor.yaml"), str(bad)]) == 2
    captured = capsys.readouterr()
    assert "ModelMonitor credit-risk-healthy is valid" in captured.out
    assert f"error: {bad}: spec.model: Field required" in captured.err
    assert main(["validate", "-f", str(samples / "healthy-monitor.yaml")]) == 0


def test_the_tooling_adds_its_commands_through_entry_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["samples", str(tmp_path), "--now", NOW_TEXT, "--rows", "200"]) == 0
    assert {Path(line).name for line in capsys.readouterr().out.split()} == {
        "healthy-monitor.yaml",
        "drifted-monitor.yaml",
    }
    assert (tmp_path / "reference.parquet").exists()
    assert main(["check", "-f", str(tmp_path / "healthy-monitor.yaml"), "--now", NOW_TEXT]) == 0


def test_the_operator_command_line_stands_without_the_tooling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    commands = next(action for action in cli.build_parser()._actions if action.dest == "command")
    assert set(commands.choices) == {"check", "report", "export", "validate", "operator", "run", "collector"}
    monkeypatch.undo()
    commands = next(action for action in cli.build_parser()._actions if action.dest == "command")
    assert set(commands.choices) == {
        "check",
        "report",
        "export",
        "validate",
        "operator",
        "run",
        "collector",
        "samples",
        "dev-cluster",
    }


def test_the_command_line_starts_without_numpy_or_arrow() -> None:
    """Each command imports what it runs: `modelmonitor operator` keeps the science stack out of its process."""
    probe = (
        "import sys; from modelmonitor.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('numpy', 'pyarrow', 'scipy', 'pandas') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
