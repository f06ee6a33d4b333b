"""A whole HTML document: inline styles, no scripts, nothing fetched from the network."""

from __future__ import annotations

from modelmonitor.report.markup import Child, Markup, join, tag, void
from modelmonitor.report.style import CSS

# Nothing may load from elsewhere, and inline scripts may not run: a name that slipped
# through escaping still could not execute.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


def document(title: str, *body: Child) -> str:
    head = tag(
        "head",
        void("meta", charset="utf-8"),
        void("meta", http_equiv="Content-Security-Policy", content=CONTENT_SECURITY_POLICY),
        void("meta", name="viewport", content="width=device-width, initial-scale=1"),
        tag("title", title),
        tag("style", Markup(CSS)),
    )
    return "<!doctype html>\n" + tag("html", head, tag("body", *body), lang="en")


def section(heading: str, *children: Child, id_: str | None = None) -> Markup:
    return tag("section", tag("h2", heading), *children, id=id_)


def summary_item(label: str, value: Child) -> Markup:
    return tag("div", tag("b", value), tag("span", label, class_="muted small"))


def summary(*items: Markup) -> Markup:
    return tag("div", join(*items), class_="summary")
