"""Equal opportunity difference: the groups' true-positive rates apart (Hardt, Price & Srebro, NeurIPS 2016).

Of the people who deserved the favorable outcome, how many more (or fewer) of the unprivileged got it.
"""

from __future__ import annotations

from functools import partial

from modelmonitor.engine.fairness import LABEL_FAVORABLE, FairnessFormula, labeled_with, true_positives

FORMULA = FairnessFormula(proportions=true_positives, support=partial(labeled_with, label=LABEL_FAVORABLE))
