"""Argo CD's Lua health checks run as Argo CD runs them: Lua 5.1 (gopher-lua's dialect), the object as ``obj``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa import lua51

CUSTOMIZATIONS = Path(__file__).resolve().parents[2] / "manifests" / "argocd" / "resource_customizations"


def script(group: str, kind: str) -> Path:
    return CUSTOMIZATIONS / group / kind / "health.lua"


def health(path: Path, obj: dict[str, Any]) -> dict[str, str]:
    """The ``{status, message}`` the script returns for ``obj``, with only the libraries Argo CD opens."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True, register_eval=False)
    globals_ = lua.globals()
    for unsafe in ("os", "io", "dofile", "loadfile", "require", "package", "debug"):
        globals_[unsafe] = None
    globals_.obj = lua.table_from(obj, recursive=True)
    returned = lua.execute(path.read_text())
    if returned is None:
        raise AssertionError(f"{path} returned nothing")
    return {key: value for key, value in dict(returned).items() if value is not None}
