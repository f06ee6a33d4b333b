"""Typed results to and from their JSON documents: camelCase keys, enums as values, absent fields as zero values.

Written: :func:`to_document` turns a frozen dataclass into plain data, NaN and infinities
into ``null``. Read: :func:`from_document` builds the dataclass again from its type hints.

A stored document lacks keys as a matter of course: the API server prunes ``null`` from a
custom resource's status, and a merge patch deletes a key set to ``null``. So a reader
never indexes a document by string key; it reads the type, where an absent field is its
zero value, as in Kubernetes' own Go types:

* an optional field (``X | None``): ``None``;
* a field with a default: its default;
* a float: NaN (what ``null`` stood for when written); an int: 0; a string: ""; a bool:
  False; a list or dict: empty; a nested dataclass: one built from ``{}``.

An enum has no zero value: an absent or unknown one is a :class:`DocumentError`, and so is
a value of the wrong kind (text where a number belongs), with the path to it.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")


class DocumentError(ValueError):
    """A document that cannot be read as its type: ``path`` says where (``metrics[2].status``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or 'the document'}: {message}")
        self.path = path


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def to_document(value: Any) -> Any:
    """Plain JSON-ready data: camelCase keys, enums as values, NaN and inf as ``None``."""
    if is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): to_document(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [to_document(item) for item in value]
    if isinstance(value, dict):
        return {key: to_document(item) for key, item in value.items()}
    return value


def from_document(kind: type[T], document: Any, path: str = "") -> T:
    """A dataclass ``kind`` read from its document (keys it does not know are ignored)."""
    if not isinstance(document, Mapping):
        raise DocumentError(path, f"expected an object, found {type(document).__name__}")
    values = {}
    for field in fields(kind):  # type: ignore[arg-type]
        hint = _hints(kind)[field.name]
        where = f"{path}.{camel(field.name)}" if path else camel(field.name)
        value = document.get(camel(field.name))
        if value is not None:
            values[field.name] = _read(hint, value, where)
        elif field.default is not MISSING:
            values[field.name] = field.default
        elif field.default_factory is not MISSING:
            values[field.name] = field.default_factory()
        else:
            values[field.name] = _zero(hint, where)
    return kind(**values)


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _optional(hint: Any) -> Any | None:
    """``X`` of ``X | None``; None for any other hint."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) == 1 and len(typing.get_args(hint)) == 2:
            return others[0]
    return None


def _zero(hint: Any, path: str) -> Any:
    if _optional(hint) is not None or hint is Any:
        return None
    origin = typing.get_origin(hint) or hint
    if origin is float:
        return math.nan  # what null stood for when the document was written
    if origin in (int, str, bool, list, dict):
        return origin()  # 0, "", False, and a new empty list or dict
    if origin is tuple:
        return tuple(_zero(arg, path) for arg in typing.get_args(hint))
    if is_dataclass(origin):
        return from_document(origin, {}, path)
    raise DocumentError(path, "is missing")


def _read(hint: Any, value: Any, path: str) -> Any:
    inner = _optional(hint)
    if inner is not None:
        return _read(inner, value, path)
    if hint is Any:
        return value
    origin, arguments = typing.get_origin(hint) or hint, typing.get_args(hint)
    if is_dataclass(origin):
        return from_document(origin, value, path)
    if isinstance(origin, type) and issubclass(origin, Enum):
        try:
            return origin(value)
        except ValueError:
            known = ", ".join(str(member.value) for member in origin)
            raise DocumentError(path, f"{value!r} is not one of {known}") from None
    if origin in (list, tuple, dict):
        return _container(origin, arguments, value, path)
    return _scalar(origin, value, path)


def _container(origin: type, arguments: tuple[Any, ...], value: Any, path: str) -> Any:
    if origin is dict:
        if not isinstance(value, Mapping):
            raise DocumentError(path, f"expected an object, found {type(value).__name__}")
        item = arguments[1] if arguments else Any
        return {key: _item(item, entry, f"{path}.{key}") for key, entry in value.items()}
    if not isinstance(value, list | tuple):
        raise DocumentError(path, f"expected a list, found {type(value).__name__}")
    if origin is tuple and arguments and arguments[-1] is not Ellipsis:
        if len(value) != len(arguments):
            raise DocumentError(path, f"expected {len(arguments)} items, found {len(value)}")
        return tuple(
            _item(arg, entry, f"{path}[{index}]")
            for index, (arg, entry) in enumerate(zip(arguments, value, strict=True))
        )
    item = arguments[0] if arguments else Any
    read = [_item(item, entry, f"{path}[{index}]") for index, entry in enumerate(value)]
    return tuple(read) if origin is tuple else read


def _item(hint: Any, value: Any, path: str) -> Any:
    """An item of a list or dict: a ``null`` there stays (arrays keep them), read as its zero value."""
    return _zero(hint, path) if value is None else _read(hint, value, path)


def _scalar(kind: Any, value: Any, path: str) -> Any:
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)  # JSON does not tell 3 from 3.0
    if kind in (str, bool) and isinstance(value, kind):
        return value
    raise DocumentError(path, f"expected {getattr(kind, '__name__', kind)}, found {value!r}"[:300])
