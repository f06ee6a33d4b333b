"""HTML built from escaped parts: every string is escaped unless it is already ``Markup``.

Feature names, categories, messages and object names come from users; building pages
with this module (never with string formatting of raw text) is what keeps them text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any


class Markup(str):
    """A string that is already safe HTML."""

    __slots__ = ()


def escape(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


Child = Any  # str, Markup, numbers, None (nothing) or iterables of those


def _children(children: Iterable[Child]) -> str:
    parts = []
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, str | int | float):
            parts.append(escape(child))
        else:
            parts.append(_children(child))
    return "".join(parts)


def _attributes(attributes: dict[str, Any]) -> str:
    parts = []
    for key, value in attributes.items():
        name = key.rstrip("_").replace("_", "-")
        if value is None or value is False:
            continue
        parts.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
    return "".join(parts)


def tag(element: str, *children: Child, **attributes: Any) -> Markup:
    """``<element attributes>children</element>``; ``class_`` gives ``class``, ``aria_label`` ``aria-label``."""
    return Markup(f"<{element}{_attributes(attributes)}>{_children(children)}</{element}>")


def void(element: str, **attributes: Any) -> Markup:
    return Markup(f"<{element}{_attributes(attributes)}>")


def join(*children: Child) -> Markup:
    return Markup(_children(children))


def number(value: float | int | None, digits: int = 4) -> str:
    """A value to read: 4 significant digits, an em dash when there is none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
