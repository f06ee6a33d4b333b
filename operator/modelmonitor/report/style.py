"""The pages' one stylesheet and the status badges: colour never the only signal (a word and a symbol)."""

from __future__ import annotations

from modelmonitor.report.markup import Markup, tag

STATUS_SYMBOLS = {
    "Passed": "✓",
    "Failed": "✗",
    "Inconclusive": "?",
    "Error": "!",
    "Healthy": "✓",
    "Degraded": "✗",
    "Pending": "…",
    "Suspended": "‖",
    "Invalid": "!",
}
STATUS_RANK = {"Error": 0, "Failed": 1, "Inconclusive": 2, "Passed": 3}

CSS = """
:root { --ok: #1a7f37; --bad: #c62828; --warn: #9a6700; --err: #6f42c1; --ref: #9aa4b1; --cur: #1f6feb;
  --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 16px 0 4px; }
.muted { color: var(--muted); } .small { font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px;
  border: 1px solid currentColor; white-space: nowrap; }
.s-Passed, .s-Healthy { color: var(--ok); } .s-Failed, .s-Degraded { color: var(--bad); }
.s-Inconclusive, .s-Pending, .s-Suspended { color: var(--warn); } .s-Error, .s-Invalid { color: var(--err); }
.verdict { font-size: 16px; padding: 3px 12px; }
.summary { display: flex; flex-wrap: wrap; gap: 8px 24px; margin: 8px 0; }
.summary div b { display: block; font-size: 18px; }
.chart { display: block; max-width: 100%; height: auto; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 12px 24px; }
.legend span { margin-right: 14px; } .sw { display: inline-block; width: 12px; height: 10px; margin-right: 4px; }
.sw-ref { background: var(--ref); } .sw-cur { border: 2px solid var(--cur); }
pre { background: var(--soft); padding: 10px; overflow: auto; font-size: 12px; }
a { color: #0969da; } nav { margin-bottom: 8px; } nav a { margin-right: 12px; }
details summary { cursor: pointer; color: var(--muted); }
.cl { font-size: 10px; text-anchor: end; } .new .cl { font-weight: bold; }
.cr { fill: var(--ref); } .cc { fill: var(--cur); } .cp { font-size: 9px; fill: var(--muted); }
"""


def badge(status: str, *, large: bool = False) -> Markup:
    symbol = STATUS_SYMBOLS.get(status, "•")
    classes = f"badge s-{status}" + (" verdict" if large else "")
    return tag("span", f"{symbol} {status}", class_=classes, data_status=status)
