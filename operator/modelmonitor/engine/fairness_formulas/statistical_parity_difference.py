"""Statistical parity difference: the groups' favorable-outcome rates, P(ŷ = favorable | group), apart."""

from __future__ import annotations

from modelmonitor.engine.fairness import FairnessFormula, group_rows, selection

FORMULA = FairnessFormula(proportions=selection, support=group_rows)
