"""Enums made from the tables and modules that define the spec's words, never kept beside them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum


def vocabulary(enum_name: str, names: Iterable[str], *, module: str) -> type[StrEnum]:
    """A StrEnum whose values are ``names`` (camelCase, as the spec writes them) and members UPPER_SNAKE.

    ``module`` is where the enum is bound to ``enum_name``: pickle finds its members there
    (the check processes are handed specs, and results, by pickle).

    >>> list(vocabulary("Metric", ["rocAuc", "f1"], module=__name__))
    [<Metric.ROC_AUC: 'rocAuc'>, <Metric.F1: 'f1'>]
    """
    members = [(re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper(), name) for name in names]
    return StrEnum(enum_name, members, module=module)  # type: ignore[return-value]
