"""Predictive parity difference: the groups' precisions apart (Chouldechova, Big Data 5(2), 2017).

Of the people given the favorable outcome, how many more (or fewer) of the unprivileged deserved it.
"""

from __future__ import annotations

from modelmonitor.engine.fairness import FairnessFormula, labeled_favorable_predictions, precision

FORMULA = FairnessFormula(proportions=precision, support=labeled_favorable_predictions)
