"""Charts drawn as inline SVG on the server: nothing to load, nothing to run, a few hundred bytes each.

Chosen over Vega-Lite or Plotly (whose runtimes alone weigh 0.5 to 3.5 MB inlined): a
report with 200 features stays small and paints at once, and works with scripts off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from modelmonitor.report.markup import Markup, join, number, tag

_MARGIN = {"left": 52, "right": 72, "top": 14, "bottom": 50}


@dataclass(frozen=True)
class TimePoint:
    at: float  # epoch seconds
    value: float | None
    lower: float | None = None
    upper: float | None = None
    rows: int | None = None
    label: str = ""  # what the point's tooltip says first


@dataclass(frozen=True)
class Marker:
    at: float
    label: str


@dataclass(frozen=True)
class Estimate:
    value: float
    lower: float | None
    upper: float | None
    label: str


def _f(value: float) -> str:
    """A coordinate: a tenth of a pixel is plenty, and "12" is shorter than "12.0"."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _svg(parts: list[Markup], width: int, height: float, title: str) -> Markup:
    """An image to screen readers, named by its title; scaled down with the page."""
    return tag(
        "svg",
        join(*parts),
        class_="chart",
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="img",
        aria_label=title,
        xmlns="http://www.w3.org/2000/svg",
    )


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if step * m >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _time_label(at: float, span: float) -> str:
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%H:%M" if span <= 2 * 86400 else "%m-%d %H:%M" if span <= 14 * 86400 else "%Y-%m-%d")


def time_chart(
    points: Sequence[TimePoint],
    *,
    start: float,
    end: float,
    title: str,
    thresholds: Sequence[tuple[str, float]] = (),
    markers: Sequence[Marker] = (),
    estimate: Estimate | None = None,
    width: int = 560,
    height: int = 196,
) -> Markup:
    """A metric over time: the values and their band, thresholds dashed, markers as vertical lines.

    Under the axis, a strip of bars shows how many rows each point rests on.
    """
    left, right, top = _MARGIN["left"], width - _MARGIN["right"], _MARGIN["top"]
    bottom = height - _MARGIN["bottom"]
    end = max(end, start + 1)
    values = [v for p in points for v in (p.value, p.lower, p.upper) if v is not None]
    values += [value for _, value in thresholds]
    if estimate is not None:
        values += [v for v in (estimate.value, estimate.lower, estimate.upper) if v is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.08 or abs(high) * 0.05 or 0.5
    low, high = low - pad, high + pad

    def x(at: float) -> float:
        return left + (at - start) / (end - start) * (right - left)

    def y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    parts: list[Markup] = [tag("title", title)]
    for tick in _nice_ticks(low, high):
        parts.append(tag("line", x1=left, x2=right, y1=_f(y(tick)), y2=_f(y(tick)), stroke="#eef1f4"))
        parts.append(tag("text", number(tick, 3), x=left - 6, y=_f(y(tick) + 4), text_anchor="end", font_size=11))
    span = end - start
    for i in range(5):
        at = start + span * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(tag("text", _time_label(at, span), x=_f(x(at)), y=bottom + 14, text_anchor=anchor, font_size=11))
    parts.append(tag("line", x1=left, x2=right, y1=bottom, y2=bottom, stroke="#8c959f"))
    banded = [p for p in points if p.lower is not None and p.upper is not None and p.value is not None]
    if len(banded) > 1:
        outline = [f"{_f(x(p.at))},{_f(y(p.upper))}" for p in banded]  # type: ignore[arg-type]
        outline += [f"{_f(x(p.at))},{_f(y(p.lower))}" for p in reversed(banded)]  # type: ignore[arg-type]
        parts.append(tag("polygon", points=" ".join(outline), fill="#1f6feb", fill_opacity="0.13", class_="band"))
    elif banded:
        p = banded[0]
        parts.append(
            tag("line", x1=_f(x(p.at)), x2=_f(x(p.at)), y1=_f(y(p.lower)), y2=_f(y(p.upper)), stroke="#8cb4f5")
        )  # type: ignore[arg-type]
    line = [p for p in points if p.value is not None]
    if line:
        path = " ".join(f"{'M' if i == 0 else 'L'}{_f(x(p.at))},{_f(y(p.value))}" for i, p in enumerate(line))  # type: ignore[arg-type]
        parts.append(tag("path", d=path, fill="none", stroke="#1f6feb", stroke_width=2))
    for p in line:
        interval = f" [{number(p.lower)}, {number(p.upper)}]" if p.lower is not None else ""
        rows = f", {p.rows:,} rows" if p.rows is not None else ""
        tip = f"{p.label}: {number(p.value)}{interval}{rows}"
        parts.append(tag("circle", tag("title", tip), cx=_f(x(p.at)), cy=_f(y(p.value)), r=3, fill="#1f6feb"))  # type: ignore[arg-type]
    for name, value in thresholds:
        parts.append(
            tag("line", x1=left, x2=right, y1=_f(y(value)), y2=_f(y(value)), stroke="#c62828", stroke_dasharray="6 4")
        )
        parts.append(
            tag("text", f"{name} {number(value)}", x=right + 4, y=_f(y(value) + 4), font_size=11, fill="#c62828")
        )
    for i, marker in enumerate(markers):
        if start <= marker.at <= end:
            at = _f(x(marker.at))
            parts.append(tag("line", x1=at, x2=at, y1=top, y2=bottom, stroke="#6f42c1", stroke_dasharray="2 3"))
            parts.append(
                tag(
                    "text",
                    marker.label,
                    x=at,
                    y=top + 10 + 11 * (i % 3),
                    font_size=10,
                    fill="#6f42c1",
                    text_anchor="middle",
                )
            )
    if estimate is not None:
        at = right + 24
        if estimate.lower is not None and estimate.upper is not None:
            parts.append(
                tag(
                    "line",
                    x1=at,
                    x2=at,
                    y1=_f(y(estimate.lower)),
                    y2=_f(y(estimate.upper)),
                    stroke="#9a6700",
                    stroke_width=2,
                )
            )
        d = f"M{at},{_f(y(estimate.value) - 5)} l5,5 l-5,5 l-5,-5 z"
        parts.append(tag("path", tag("title", estimate.label), d=d, fill="#9a6700"))
        parts.append(tag("text", "est.", x=at, y=bottom + 14, text_anchor="middle", font_size=11, fill="#9a6700"))
    counted = [p for p in points if p.rows]
    if counted:
        most = max(p.rows for p in counted)  # type: ignore[type-var]
        strip, slot = bottom + 34, max(2.0, (right - left) / max(len(points), 1) * 0.7)
        for p in counted:
            tall = 12 * p.rows / most  # type: ignore[operator]
            parts.append(
                tag(
                    "rect",
                    x=_f(x(p.at) - slot / 2),
                    y=_f(strip - tall),
                    width=_f(slot),
                    height=_f(tall),
                    fill="#c9d1d9",
                )
            )
        parts.append(tag("text", f"rows, max {most:,}", x=right + 4, y=strip, font_size=10, fill="#59636e"))
    return _svg(parts, width, height, title)


def histogram_chart(
    edges: Sequence[float],
    reference: Sequence[int],
    current: Sequence[int],
    reference_outside: Sequence[int],
    current_outside: Sequence[int],
    *,
    title: str,
    width: int = 240,
    height: int = 66,
) -> Markup:
    """Reference shares as grey bars, current shares as a blue outline, over the same bins."""
    left, right, top, bottom = 30, width - 30, 4, height - 14
    totals = (sum(reference) + sum(reference_outside)) or 1, (sum(current) + sum(current_outside)) or 1
    shares = [c / totals[0] for c in reference], [c / totals[1] for c in current]
    tallest = max(max(shares[0], default=0), max(shares[1], default=0)) or 1.0
    step = (right - left) / max(len(reference), 1)

    def y(share: float) -> float:
        return bottom - share / tallest * (bottom - top)

    def outline(values: list[float]) -> str:
        path = [f"M{left},{bottom}"]
        for i, share in enumerate(values):
            path.append(f"V{_f(y(share))}H{_f(left + (i + 1) * step)}")
        return "".join(path) + f"V{bottom}"

    parts = [
        tag("title", title),
        tag("path", d=outline(shares[0]) + " Z", fill="#9aa4b1", fill_opacity="0.7", class_="reference"),
        tag("path", d=outline(shares[1]), fill="none", stroke="#1f6feb", stroke_width=1.6, class_="current"),
        tag("line", x1=left, x2=right, y1=bottom, y2=bottom, stroke="#8c959f"),
        tag("text", number(edges[0], 3), x=left, y=height - 2, font_size=10, text_anchor="start"),
        tag("text", number(edges[-1], 3), x=right, y=height - 2, font_size=10, text_anchor="end"),
    ]
    for side, at, anchor in ((0, left - 3, "end"), (1, right + 3, "start")):
        ref_share, cur_share = reference_outside[side] / totals[0], current_outside[side] / totals[1]
        if ref_share or cur_share:
            label = f"{'‹' if side == 0 else '›'}{cur_share:.0%}"
            tip = f"{'below' if side == 0 else 'above'} the range: reference {ref_share:.1%}, current {cur_share:.1%}"
            parts.append(
                tag(
                    "text",
                    tag("title", tip),
                    label,
                    x=at,
                    y=bottom - 2,
                    font_size=10,
                    text_anchor=anchor,
                    fill="#1f6feb",
                )
            )
    return _svg(parts, width, height, title)


def category_chart(
    categories: Sequence[str],
    reference: Sequence[int],
    current: Sequence[int],
    other: tuple[int, int],
    new: Sequence[str],
    *,
    title: str,
    rows_shown: int = 10,
    width: int = 260,
) -> Markup:
    """One row per category: the reference share in grey over the current share in blue; new ones starred."""
    totals = (sum(reference) + other[0]) or 1, (sum(current) + other[1]) or 1
    rows = list(zip(categories, reference, current, strict=True))[:rows_shown]
    rest = (other[0] + sum(reference[rows_shown:]), other[1] + sum(current[rows_shown:]))
    if any(rest):
        rows.append(("(other)", *rest))
    label_width, row_height = 96, 13
    tallest = max([c / totals[0] for _, c, _ in rows] + [c / totals[1] for _, _, c in rows] + [1e-9])
    scale = (width - label_width - 40) / tallest
    parts: list[Markup] = [tag("title", title)]
    fresh = set(new)
    for i, (name, ref, cur) in enumerate(rows):
        top = 2 + i * row_height
        is_new = name in fresh
        shown = ("★ " if is_new else "") + (name if len(name) <= 14 else name[:13] + "…")
        marked = f"{name} (new: never seen in the reference)" if is_new else name
        tip = f"{marked}: reference {ref / totals[0]:.1%} ({ref:,}), current {cur / totals[1]:.1%} ({cur:,})"
        share = cur / totals[1]
        parts.append(
            tag(
                "g",
                tag("title", tip),
                tag("text", shown, x=label_width - 4, y=top + 9, class_="cl"),
                tag("rect", x=label_width, y=top, width=_f(ref / totals[0] * scale), height=5, class_="cr"),
                tag("rect", x=label_width, y=top + 5, width=_f(share * scale), height=5, class_="cc"),
                tag("text", f"{share:.0%}", x=_f(label_width + share * scale + 3), y=top + 10, class_="cp"),
                class_="new" if is_new else None,
            )
        )
    height = 4 + len(rows) * row_height
    return _svg(parts, width, height, title)
