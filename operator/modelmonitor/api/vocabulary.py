"""Enums made from the tables and modules that define the spec's words, never kept beside them."""

from __future__ import annotations

import importlib.util
import pkgutil
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum


def vocabulary(enum_name: str, names: Iterable[str], *, module: str) -> type[StrEnum]:
    """A StrEnum whose values are ``names`` (camelCase, as the spec writes them) and members UPPER_SNAKE.

    ``module`` is where the enum is bound to ``enum_name``: pickle finds its members there
    (the check processes are handed specs, and results, by pickle).

    >>> list(vocabulary("Metric", ["rocAuc", "f1"], module=__name__))
    [<Metric.ROC_AUC: 'rocAuc'>, <Metric.F1: 'f1'>]
    """
    members = [(snake_case(name).upper(), name) for name in names]
    return StrEnum(enum_name, members, module=module)  # type: ignore[return-value]


def snake_case(name: str) -> str:
    """A spec's camelCase word in snake case, as its module is named: ``rocAuc`` is ``roc_auc``.

    >>> snake_case("balancedAccuracy")
    'balanced_accuracy'
    """
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def module_names(package: str) -> list[str]:
    """The modules of a package, read from its folder without importing them (nor what they import).

    A package of one module per word (``engine/drift_methods``) names the words: validating
    a spec must not load the numpy and scipy those modules import.
    """
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise ImportError(f"{package} is not a package")
    return [module.name for module in pkgutil.iter_modules(found.submodule_search_locations)]


def listed(names: Sequence[str]) -> str:
    """Names as a sentence lists them: "a", "a and b", "a, b and c"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def quoted(names: Iterable[str]) -> str:
    """Names as a CEL list of strings, sorted: ``['f1', 'recall']``."""
    return "[" + ", ".join(f"'{name}'" for name in sorted(names)) + "]"
