"""The reference tools' own venvs, created on first use beside the project's: their pins would clash with ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_venv(name: str, packages: list[str]) -> Path:
    """The python of ``ROOT/.venv-NAME``, made with ``packages`` installed the first time it is asked for."""
    python = ROOT / f".venv-{name}" / "bin" / "python"
    if not python.exists():
        print(f"creating .venv-{name} ({', '.join(packages)}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python
