"""What a page may show of a spec: credentials in URIs and literal secrets are replaced."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "<redacted>"
_SECRET_KEY = re.compile(r"password|passwd|token|secret|credential|apikey|api_key|accesskey|access_key", re.I)
_REFERENCE_KEY = re.compile(r"(secret|configmap)(key)?ref$", re.I)  # names a Secret; holds no value


def redact_uri(uri: str) -> str:
    """A URI without its password and query string (signed URLs carry their signature there)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return HIDDEN
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:{HIDDEN}@{host}" if ":" in user else f"{user}@{host}"
    query = HIDDEN if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_spec(value: Any, key: str = "") -> Any:
    """A copy of a spec with URIs redacted, env values hidden and secret-looking keys' values hidden."""
    if isinstance(value, dict):
        if "name" in value and "value" in value and key == "env":
            return {**value, "value": HIDDEN}
        return {k: redact_spec(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_spec(item, key) for item in value]
    if isinstance(value, str):
        if key == "uri":
            return redact_uri(value)
        if _SECRET_KEY.search(key) and not _REFERENCE_KEY.search(key):
            return HIDDEN
    return value
