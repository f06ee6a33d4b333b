"""Times as the operator and its documents write and read them: RFC 3339, UTC, with a ``Z``.

One home for every form: results documents (``rfc3339``: microseconds when there are
some), Kubernetes status fields (``iso``: whole seconds, as the API server writes its own
times), finish times that must order runs within a second (``precise_iso``), and reading
any of them back (``parse_iso``: a time without an offset is UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    """A time as the results write it: UTC, with a ``Z``, microseconds only when there are some."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso(moment: datetime) -> str:
    """Whole seconds, as Kubernetes writes ``creationTimestamp`` and conditions' ``lastTransitionTime``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise_iso(moment: datetime) -> str:
    """RFC 3339 with microseconds: finish times that order runs created within one second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """A time written in any of the forms above, or ISO-8601 with an offset, as a UTC moment (no offset: UTC).

    Raises ``ValueError`` for text that is no such time.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
