"""Write the rules, dashboard and runbooks: ``python -m modelmonitor.observability [ROOT]``."""

from __future__ import annotations

import sys
from pathlib import Path

from modelmonitor.observability.files import outputs


def main(argv: list[str]) -> None:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[3]
    for path, text in outputs(root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path.relative_to(root))


if __name__ == "__main__":
    main(sys.argv[1:])
