"""HTML size, render time and time to first paint of reports with 25 and 200 features, and of the monitor list.

    python benchmarks/report_size.py [--features 25 200] [--rows 20000] [--monitors 1000]

Writes reference and current Parquet files (3 of 4 features numerical, a quarter of them
drifted), runs the checks, renders the report, and opens it in Debian's Chromium (through
Playwright) for its first-contentful-paint and load times. Chromium comes from
``make tools``; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))

from modelmonitor.api.parsing import parse_spec
from modelmonitor.checks import run_checks
from modelmonitor.report import render_report
from modelmonitor.report.fleet import monitor_list_page

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def write(directory: Path, features: int, rows: int) -> dict:
    rng = np.random.default_rng(features)
    for name in ("reference", "current"):
        seconds = np.sort(rng.uniform(0, 86400, rows)).astype("timedelta64[s]")
        columns = {"ts": pa.array((np.datetime64("2026-11-23T12:00:00") - seconds[::-1]).astype("datetime64[us]"))}
        label = rng.integers(0, 2, rows)
        columns |= {"label": label, "prediction": np.where(rng.random(rows) < 0.85, label, 1 - label)}
        columns["score"] = np.clip(label * 0.5 + rng.random(rows) * 0.5, 0, 1)
        for i in range(features):
            shift = 0.5 if name == "current" and i % 4 == 0 else 0.0
            if i % 4 == 3:
                columns[f"f{i:03d}"] = rng.choice([f"c{j}" for j in range(30)], rows)
            else:
                columns[f"f{i:03d}"] = rng.normal(shift, 1, rows)
        pq.write_table(pa.table(columns), directory / f"{name}.parquet")
    return {
        "model": {"name": "bench", "task": "binaryClassification"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": str(directory / "current.parquet"), "window": "24h"},
            "reference": {"uri": str(directory / "reference.parquet")},
            "columns": {"timestamp": "ts", "prediction": "prediction", "label": "label", "score": "score"},
        },
        "metrics": [{"name": "accuracy", "min": 0.8}, {"name": "rocAuc", "min": 0.8}, {"name": "f1", "min": 0.7}],
        "drift": {"method": "auto"},
        "conceptDrift": [{"method": "ddm"}],
    }


def paint(browser, path: Path) -> tuple[float, float]:
    page = browser.new_page()
    page.goto(path.as_uri(), wait_until="load")
    timing = page.evaluate(
        """() => new Promise(resolve => new PerformanceObserver((list, observer) => {
            const fcp = list.getEntriesByName('first-contentful-paint')[0];
            if (!fcp) return;
            observer.disconnect();
            resolve({fcp: fcp.startTime, load: performance.getEntriesByType('navigation')[0].loadEventEnd});
        }).observe({type: 'paint', buffered: true}))"""
    )
    page.close()
    return timing["fcp"], timing["load"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--features", type=int, nargs="+", default=[25, 200])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--monitors", type=int, default=1000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        sys.exit("chromium is missing: run 'make tools' (Debian package chromium)")
    print(f"{'features':>8} {'results KB':>10} {'HTML KB':>8} {'render ms':>9} {'FCP ms':>7} {'load ms':>8}")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        for features in args.features:
            directory = Path(scratch) / str(features)
            directory.mkdir()
            spec = parse_spec(write(directory, features, args.rows))
            results = run_checks(spec, now=NOW, name=f"bench-{features}").to_document()
            document_size = len(json.dumps(results, separators=(",", ":")))
            clock = time.perf_counter()
            html = render_report(results)
            render = (time.perf_counter() - clock) * 1000
            path = directory / "report.html"
            path.write_text(html, encoding="utf-8")
            paints = [paint(browser, path) for _ in range(5)]
            fcp, load = (float(np.median([p[i] for p in paints])) for i in (0, 1))
            print(
                f"{features:>8} {document_size / 1024:>10.0f} {len(html.encode()) / 1024:>8.0f} "
                f"{render:>9.0f} {fcp:>7.0f} {load:>8.0f}"
            )
        monitors = [
            {
                "namespace": f"team-{i % 20}",
                "name": f"model-{i:04d}",
                "health": "Healthy",
                "driftedShare": i / args.monitors,
                "metrics": {"accuracy": 0.9, "rocAuc": 0.8},
                "lastRunAt": "2026-11-23T12:00:00Z",
            }
            for i in range(args.monitors)
        ]
        clock = time.perf_counter()
        page = monitor_list_page(monitors, sort="drift", descending=True)
        render = (time.perf_counter() - clock) * 1000
        path = Path(scratch) / "list.html"
        path.write_text(page, encoding="utf-8")
        fcp, load = paint(browser, path)
        print(
            f"monitor list of {args.monitors}: {len(page.encode()) / 1024:.0f} KB, rendered in {render:.0f} ms, "
            f"FCP {fcp:.0f} ms, load {load:.0f} ms"
        )
        browser.close()


if __name__ == "__main__":
    main()
