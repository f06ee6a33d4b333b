"""The drift methods' registry: one module per method, and everything else derived from it."""

from __future__ import annotations

import json
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import modelmonitor
from modelmonitor.api.drift import DriftMethod
from modelmonitor.engine import drift_methods
from modelmonitor.engine.drift import METHODS, categorical_drift, numerical_drift
from modelmonitor.engine.drift_definition import ColumnKind, DriftMethodDefinition, Measured


def test_every_module_is_a_method_of_the_spec_and_back() -> None:
    modules = {module.name for module in pkgutil.iter_modules(drift_methods.__path__)}
    assert modules == {str(method) for method in DriftMethod} == {str(method) for method in METHODS}
    assert next(iter(DriftMethod)) is DriftMethod.AUTO  # the default leads the CRD's enum
    assert all(isinstance(definition, DriftMethodDefinition) for definition in METHODS.values())


def test_what_each_method_reads_is_derived_from_its_forms() -> None:
    """The sets that used to be kept by hand beside the methods (SORTED_METHODS, _COUNT_METHODS)."""
    assert {m for m, d in METHODS.items() if d.reads_values_only} == {DriftMethod.KS, DriftMethod.WASSERSTEIN}
    assert {m for m, d in METHODS.items() if d.reads_counts_only} == {DriftMethod("chi2"), DriftMethod("ztest")}
    assert METHODS[DriftMethod("ztest")].counted_kinds == {ColumnKind.BINARY}


def test_a_definition_must_be_whole() -> None:
    def values(reference: object, current: object) -> Measured:
        return Measured(0.0)

    with pytest.raises(ValueError, match="whole"):
        DriftMethodDefinition(default_threshold=0.1, exact=values)
    with pytest.raises(ValueError, match="kinds"):
        DriftMethodDefinition(default_threshold=0.1, counts=lambda e, a, k: Measured(0.0))
    with pytest.raises(ValueError, match="values, counts or both"):
        DriftMethodDefinition(default_threshold=0.1)


def test_a_method_is_refused_the_form_it_does_not_take() -> None:
    with pytest.raises(ValueError, match="needs a numerical column, not category counts"):
        categorical_drift({"a": 5, "b": 3, "c": 1}, {"a": 4, "b": 4, "c": 2}, method=DriftMethod.KS)
    with pytest.raises(ValueError, match="measures category counts"):
        numerical_drift(np.arange(20.0), np.arange(20.0), method=DriftMethod("chi2"))


def test_validating_a_spec_imports_no_statistics() -> None:
    """The operator validates every monitor: the enum is read from file names, not by importing numpy and scipy."""
    code = (
        "import sys, modelmonitor.api.parsing; print(json.dumps([m for m in ('numpy', 'scipy') if m in sys.modules]))"
    )
    shown = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout) == []


ENERGY = '''
"""Energy distance (Székely and Rizzo) in units of the reference's standard deviation."""

import numpy as np
from scipy import stats

from modelmonitor.engine.drift_definition import DriftMethodDefinition, Measured


def exact(reference, current):
    return Measured(stats.energy_distance(reference, current) / np.std(reference))


def binned(edges, reference, current):
    middles = np.concatenate([[reference.low], (edges[:-1] + edges[1:]) / 2, [reference.high]])
    distance = stats.energy_distance(middles, middles, reference.counts, current.counts)
    return Measured(distance / reference.std, approximation_error=float(np.max(np.diff(edges))) / reference.std)


METHOD = DriftMethodDefinition(default_threshold=0.1, exact=exact, binned=binned)
'''

CHECK = """
import json, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from datetime import UTC, datetime
from scipy import stats
from modelmonitor.checks import run_checks
from modelmonitor.crd import model_monitor_crd
from modelmonitor.api.parsing import parse_spec

folder = sys.argv[1]
rng = np.random.default_rng(5)
now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
sides = {"reference": rng.normal(0, 1, 3000), "current": rng.normal(0.4, 1, 3000)}
for side, values in sides.items():
    pq.write_table(pa.table({"ts": pa.array([now] * values.size, pa.timestamp("us", tz="UTC")), "x": values,
                             "prediction": np.zeros(values.size, np.int64)}), f"{folder}/{side}.parquet")
found = {}
for exact_max_rows in (20_000_000, 1000):
    spec = parse_spec({
        "model": {"name": "m", "task": "binaryClassification"}, "schedule": {"interval": "1h"},
        "data": {"current": {"uri": f"{folder}/current.parquet"}, "reference": {"uri": f"{folder}/reference.parquet"},
                 "columns": {"timestamp": "ts", "features": ["x"]}},
        "drift": {"method": "energy", "exactMaxRows": exact_max_rows},
    })
    feature = run_checks(spec, now=now).drift.features[0]
    found[exact_max_rows] = [feature.method, feature.statistic, feature.drifted, feature.approximate, feature.status]
expected = stats.energy_distance(sides["reference"], sides["current"]) / np.std(sides["reference"])
crd = json.dumps(model_monitor_crd())
print(json.dumps({"found": found, "expected": expected, "inCrd": '"energy"' in crd}))
"""


def test_a_new_method_is_one_module(tmp_path: Path) -> None:
    """Dropped into engine/drift_methods, a module is a method of the spec, the CRD and the checks (exact, streamed)."""
    copy = tmp_path / "package" / "modelmonitor"
    shutil.copytree(Path(modelmonitor.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "engine" / "drift_methods" / "energy.py").write_text(textwrap.dedent(ENERGY))
    environment = {**os.environ, "PYTHONPATH": str(copy.parent)}
    shown = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path)], capture_output=True, text=True, env=environment, timeout=300
    )
    assert shown.returncode == 0, shown.stderr
    answer = json.loads(shown.stdout)
    exact, streamed = answer["found"]["20000000"], answer["found"]["1000"]
    assert exact[0] == streamed[0] == "energy" and answer["inCrd"]
    assert exact[1] == pytest.approx(answer["expected"], rel=1e-9) and exact[2:4] == [True, False]
    assert streamed[1] == pytest.approx(answer["expected"], rel=0.05) and streamed[2:4] == [True, True]
