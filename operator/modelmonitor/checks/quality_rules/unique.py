"""``unique: {column}``: no value twice in the window, as an id column must be.

Each value is kept as a 64-bit hash (pandas' ``hash_array``), 8 bytes a row: ten million ids
cost 80 MB, and two different ids collide with a chance of about n²/2⁶⁵ (3·10⁻⁶ for ten
million). The repeated values are then read again to name a few. Nulls are not ids here (the
``missing`` rule counts them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from modelmonitor.api.data_quality import UniqueRule
from modelmonitor.api.results import QualityRuleResult
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.quality_rules import QualityRuleCheck, judged, no_rows, share_text, window_batches

SHOWN = 5


def _hashes(values: pa.Array) -> np.ndarray:
    present = values.drop_null()
    return pd.util.hash_array(present.to_numpy(zero_copy_only=False), categorize=False)


def measure(context: CheckContext, rule: UniqueRule) -> QualityRuleResult:
    parts = [_hashes(values) for values in window_batches(context, rule.column)]
    hashes = np.sort(np.concatenate(parts)) if parts else np.empty(0, np.uint64)
    if not len(hashes):
        return no_rows("unique", rule.column, 0.0)
    repeats = hashes[1:] == hashes[:-1]  # each value after the first of its kind
    repeated = int(repeats.sum())
    share = repeated / len(hashes)
    details: dict[str, object] = {"values": len(hashes), "repeated": repeated}
    if not repeated:
        message = f"{rule.column}: {len(hashes):,} values, each once"
        return judged("unique", rule.column, 0.0, 0.0, message, details)
    twice = np.unique(hashes[1:][repeats])
    examples: list[str] = []
    for values in window_batches(context, rule.column):
        present = values.drop_null()
        found = np.isin(_hashes(values), twice)
        examples += [str(value) for value in present.filter(pa.array(found)).to_pylist() if str(value) not in examples]
        if len(examples) >= SHOWN:
            break
    details["examples"] = examples[:SHOWN]
    message = (
        f"{rule.column}: {repeated:,} of {len(hashes):,} values ({share_text(share)}) repeat one before them, "
        f"e.g. {', '.join(repr(e) for e in examples[:3])}: an id served twice, or rows written twice"
    )
    return judged("unique", rule.column, share, 0.0, message, details)


RULE = QualityRuleCheck(measure)
