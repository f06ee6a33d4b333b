"""Disparate impact ratio: the unprivileged group's favorable-outcome rate over the privileged group's.

The four-fifths rule of the US EEOC's Uniform Guidelines (29 CFR 1607.4(D)) asks it to be at least 0.8.
"""

from __future__ import annotations

from modelmonitor.engine.fairness import FairnessFormula, group_rows, selection

FORMULA = FairnessFormula(proportions=selection, support=group_rows)
