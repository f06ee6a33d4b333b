"""YAML from others (a pull request's files in CI, say), read within bounds: no alias bomb, no endless nesting.

A "billion laughs" document is a few hundred bytes of anchors, each alias doubling or
tenfolding the one before. PyYAML shares the aliased objects, so loading is quick, but
everything that walks the result (validation, dumping) walks every expansion: nine levels
of ten kept ``modelmonitor check`` busy for minutes. Here the node graph is measured before
anything is built from it: its size with every alias expanded, its depth, and cycles.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 4 * 1024 * 1024  # far above any monitor (etcd keeps objects under 1.5 MiB)
MAX_NODES = 100_000  # scalars, lists and mappings once every alias is expanded
MAX_DEPTH = 64


class YAMLBoundError(ValueError):
    """A document past one of the bounds: what was exceeded, in words."""


def load_all_bounded(text: str) -> list[Any]:
    """Every document of a YAML stream, refused with :class:`YAMLBoundError` past the bounds.

    Raises ``yaml.YAMLError`` for text that is not YAML, as ``yaml.safe_load_all`` does.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YAMLBoundError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
    loader = yaml.SafeLoader(text)
    try:
        documents, nodes = [], 0
        while loader.check_node():
            try:
                node = loader.get_node()
            except RecursionError:
                raise YAMLBoundError(f"nested deeper than {MAX_DEPTH} levels") from None
            nodes += _expanded_size(node, {}, (), 0)
            if nodes > MAX_NODES:
                raise YAMLBoundError(_too_many())
            documents.append(loader.construct_document(node))
        return documents
    finally:
        loader.dispose()


def _too_many() -> str:
    return f"more than {MAX_NODES:,} values once its aliases are expanded (an alias bomb?)"


def _expanded_size(node: yaml.Node, sizes: dict[int, int], path: tuple[int, ...], depth: int) -> int:
    """How many nodes ``node`` stands for with every alias expanded (each shared node measured once)."""
    if id(node) in sizes:
        return sizes[id(node)]
    if depth > MAX_DEPTH:
        raise YAMLBoundError(f"nested deeper than {MAX_DEPTH} levels")
    if id(node) in path:
        raise YAMLBoundError("an alias refers to a node that contains it (a cycle)")
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    size = 1
    for child in children:
        size += _expanded_size(child, sizes, (*path, id(node)), depth + 1)
        if size > MAX_NODES:
            raise YAMLBoundError(_too_many())
    sizes[id(node)] = size
    return size
