"""Each monitor's spec, parsed once per generation, however many handlers and ticks read it.

The API server raises a monitor's ``metadata.generation`` with every change to its spec,
so a (uid, generation) pair names one spec for good. The schedule's watch events, each
tick, each run's execution and recording, retraining and rollouts all read the spec;
each used to parse (and validate) it again. A spec that failed to parse fails the same way
until its generation changes, with the same message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from modelmonitor.api.monitor import ModelMonitorSpec
from modelmonitor.api.parsing import parse_spec
from modelmonitor.errors import SpecError


class ParsedSpecs:
    def __init__(self, parse: Callable[..., ModelMonitorSpec] = parse_spec) -> None:
        self._parse = parse
        self._by_uid: dict[str, tuple[int, ModelMonitorSpec | SpecError]] = {}

    def of(self, monitor: Mapping[str, Any]) -> ModelMonitorSpec:
        """The monitor's parsed spec; SpecError, naming each bad field, when it is invalid."""
        meta = monitor.get("metadata") or {}
        uid, generation = meta.get("uid"), meta.get("generation")
        namespace = meta.get("namespace")
        if uid is None or generation is None:  # not a stored object (a test's, say): nothing names its spec
            return self._parse(dict(monitor["spec"]), namespace=namespace)
        known = self._by_uid.get(uid)
        if known is None or known[0] != generation:
            try:
                known = (generation, self._parse(dict(monitor["spec"]), namespace=namespace))
            except SpecError as error:
                known = (generation, error)
            self._by_uid[uid] = known
        if isinstance(known[1], SpecError):
            raise SpecError(str(known[1]))
        return known[1]

    def forget(self, uid: str) -> None:
        """Drop a deleted monitor's spec."""
        self._by_uid.pop(uid, None)

    def __len__(self) -> int:
        return len(self._by_uid)
