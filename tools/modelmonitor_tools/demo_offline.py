"""The offline demo: ``make demo-offline`` (or ``python -m modelmonitor_tools.demo_offline``).

Writes the reproducible sample data (one healthy credit-risk model, one whose inputs
drifted and whose accuracy dropped) into ``.demo/`` and runs both monitors' checks.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from modelmonitor.cli import main as cli


def main() -> int:
    directory = Path(".demo")
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    cli(["samples", str(directory), "--now", now])
    codes = []
    for name in ("healthy", "drifted"):
        print(f"\n$ modelmonitor check -f {directory}/{name}-monitor.yaml --now {now}")
        codes.append(cli(["check", "-f", str(directory / f"{name}-monitor.yaml"), "--now", now]))
    print(f"\nexit codes: healthy {codes[0]}, drifted {codes[1]} (0 healthy, 1 a check failed)")
    return 0 if codes == [0, 1] else 1


if __name__ == "__main__":
    sys.exit(main())
