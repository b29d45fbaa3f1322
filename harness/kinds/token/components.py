"""What components implement to serve the token-classification kind (NER). Its TaskData splits hold TokenExample,
and its classifier's `predictor` is a harness.kinds.token.predictor.TokenPredictor (word tags). The kind refuses,
before anything trains, a component that lacks the method it needs (harness.kinds.token.TokenClassification
.check_components). A component built only for token tasks sets the class attribute
`supports_sequence_classification = False`, so that the sequence-classification kind refuses it on a text task."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from harness.core.components import Classifier
from harness.core.types import StageEnvironment, TaskData
from harness.kinds.token.examples import TokenExample


class TokenAttack(Protocol):
    """An attack on a tagger (registered with register_attacks). Declare `supports_token_classification = True`
    on the registered class."""

    supports_token_classification: bool

    def attack_tokens(self, classifier: Classifier, examples: Sequence[TokenExample], task: TaskData,
                      env: StageEnvironment) -> Sequence[Any]:
        """One harness.kinds.token.attack.NerAttackRecord per example, in order. `task` is the cell's task data (its
        label_names, and the training split, e.g. for a pool of entities to swap in)."""
        ...


class TokenPerturbation(Protocol):
    """An entity-preserving perturbation of NER sentences (registered with register_augmenters)."""

    def perturb_tokens(self, examples: Sequence[TokenExample], task: TaskData,
                       env: StageEnvironment) -> list[TokenExample]:
        """One perturbed example per example, same ids, in order, tags aligned with the new tokens. `task` gives
        the label names and the training split (entity swaps draw their names from it)."""
        ...


class EntityExplainer(Protocol):
    """An explainer of a tagger's entities (registered with register_explainers)."""

    def explain_entities(self, classifier: Classifier, examples: Sequence[TokenExample],
                         env: StageEnvironment) -> Any:
        """A harness.kinds.token.explaining.EntityExplainOutcome: one EntityAttribution per entity the model predicts
        in the examples (the attribution of the entity's label over the sentence's words)."""
        ...
