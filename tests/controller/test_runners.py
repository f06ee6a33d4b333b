"""The runners' registry: one module per runner, each a name of the spec's runner field."""

from __future__ import annotations

import pytest

from modelmonitor.api.runner import Runner
from modelmonitor.controller.runners.registry import RUNNERS, runner_for
from modelmonitor.errors import SpecError


def test_every_runner_the_spec_names_is_registered_and_no_other() -> None:
    assert set(RUNNERS) == {str(runner) for runner in Runner} - {str(Runner.AUTO)}  # auto picks one of them
    assert all(runner_for(name).name == name for name in RUNNERS)


def test_a_runner_no_module_provides_is_a_spec_error_that_lists_the_runners() -> None:
    with pytest.raises(SpecError, match="no runner 'spark'; one of dask, inline, job"):
        runner_for("spark")
