"""The spec's words, made from their tables and modules: whole, and able to cross into a check process."""

from __future__ import annotations

import pickle
import subprocess
import sys
from enum import StrEnum

import pytest

from modelmonitor.api.concept_drift import CONCEPT_DRIFT_METHODS, ConceptDriftMethod
from modelmonitor.api.drift import DriftMethod
from modelmonitor.api.metrics import MetricName
from modelmonitor.api.parsing import parse_spec
from modelmonitor.api.vocabulary import module_names
from modelmonitor.checks.performance import DETECTORS
from modelmonitor.errors import SpecError


@pytest.mark.parametrize("words", [DriftMethod, MetricName, ConceptDriftMethod], ids=lambda words: words.__name__)
def test_every_word_crosses_pickle_as_itself(words: type[StrEnum]) -> None:
    """Specs and results go to the check processes by pickle: an enum made where it is not bound cannot."""
    for member in words:
        assert pickle.loads(pickle.dumps(member)) is member


def test_every_sequential_method_has_a_detector() -> None:
    assert set(DETECTORS) == {name for name, facts in CONCEPT_DRIFT_METHODS.items() if not facts.windowed}


def test_a_classification_only_detector_is_refused_on_regression() -> None:
    spec = {
        "model": {"name": "m", "task": "regression"},
        "schedule": {"interval": "1h"},
        "data": {
            "current": {"uri": "c.parquet"},
            "reference": {"uri": "r.parquet"},
            "columns": {"label": "y", "timestamp": "ts"},
        },
        "conceptDrift": [{"method": "adwin"}, {"method": "ddm"}],
    }
    with pytest.raises(SpecError, match=r"conceptDrift\[1\]: ddm needs a classification task"):
        parse_spec(spec)
    with pytest.raises(SpecError, match="alpha is for performanceWindow only: adwin takes none"):
        parse_spec({**spec, "conceptDrift": [{"method": "adwin", "alpha": 0.01}]})


def test_module_names_lists_a_package_without_importing_it_and_refuses_a_module() -> None:
    code = (
        "import sys; from modelmonitor.api.vocabulary import module_names; "
        "names = module_names('modelmonitor.engine.drift_methods'); "
        "print(sorted(names), 'modelmonitor.engine.drift_methods' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip().endswith("'ztest'] False") and "'auto'" in shown
    with pytest.raises(ImportError, match="not a package"):
        module_names("modelmonitor.api.parsing")
