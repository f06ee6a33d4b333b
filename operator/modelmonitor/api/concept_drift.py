"""The concept-drift methods: what each one reads, and what it needs of the task.

One table, ``CONCEPT_DRIFT_METHODS``: the spec's ``ConceptDriftMethod`` (and so the CRD's
enum), the spec's checks against the task, the CRD's rules, and which rows the checks gather
are read from it.  The detectors themselves live in ``modelmonitor.engine.concept``.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelmonitor.api.vocabulary import vocabulary


@dataclass(frozen=True)
class ConceptDriftDefinition:
    """One method's facts.

    ``windowed``: it compares a metric over the window with a baseline (and takes ``metric``,
    ``alpha`` and ``baseline``); otherwise it is a sequential detector that reads each labelled
    row's error in time order, and takes no settings.  ``classification_only``: its errors
    must be 0 or 1 (a prediction right or wrong).
    """

    windowed: bool = False
    classification_only: bool = False


CONCEPT_DRIFT_METHODS_BY_NAME: dict[str, ConceptDriftDefinition] = {
    "performanceWindow": ConceptDriftDefinition(windowed=True),
    "ddm": ConceptDriftDefinition(classification_only=True),  # Gama et al. (2004): a Bernoulli error rate
    "pageHinkley": ConceptDriftDefinition(),
    "adwin": ConceptDriftDefinition(),
}

ConceptDriftMethod = vocabulary("ConceptDriftMethod", CONCEPT_DRIFT_METHODS_BY_NAME, module=__name__)
CONCEPT_DRIFT_METHODS: dict[ConceptDriftMethod, ConceptDriftDefinition] = {
    ConceptDriftMethod(name): facts for name, facts in CONCEPT_DRIFT_METHODS_BY_NAME.items()
}
