"""A run's data-quality rules (``spec.dataQuality``): each kind measured by its module of ``checks.quality_rules``,
registered here by the spec's name for it (``api.data_quality.KINDS``)."""

from __future__ import annotations

import importlib

from modelmonitor.api.data_quality import KINDS
from modelmonitor.api.results import QualityRuleResult
from modelmonitor.api.verdict import Verdict
from modelmonitor.api.vocabulary import snake_case
from modelmonitor.checks import quality_rules
from modelmonitor.checks.context import CheckContext
from modelmonitor.checks.quality_rules import QualityRuleCheck
from modelmonitor.errors import DataError

RULES: dict[str, QualityRuleCheck] = {
    kind: importlib.import_module(f"{quality_rules.__name__}.{snake_case(kind)}").RULE for kind in KINDS
}


def evaluate_quality(context: CheckContext) -> list[QualityRuleResult]:
    """Every rule's result, in the spec's order; a rule that cannot be measured is that rule's Error."""
    found = []
    for rule in context.spec.data_quality:
        try:
            found.append(RULES[rule.kind].measure(context, rule.rule))
        except DataError as error:
            found.append(QualityRuleResult(rule.kind, rule.column, Verdict.ERROR, None, None, str(error)))
    return found
