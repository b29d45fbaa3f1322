"""The built-in task kind "token-classification": one tag per word (named-entity recognition,
harness.TokenExample with IOB2 tags).

Its stages are harness.kinds.token.stages (entity-level evaluation, attacks, perturbations and explanations), its
training encoding harness.kinds.token.training, its predictor harness.kinds.token.predictor.TokenPredictor, its report
sections
harness.kinds.token.report. Components serve it through the token protocols of harness.core.components
(`attack_tokens`, `perturb_tokens`, `explain_entities`); text augmenters, TextAttack recipes, augmentation and
adversarial training are refused at their suite line before anything trains.
"""

from __future__ import annotations

from typing import Any, Sequence

from harness.core.errors import SuiteError
from harness.core.files import content_key
from harness.core.types import TaskData
from harness.kinds.base import (
    ComponentSection,
    ReportView,
    StageSpec,
    TaskKind,
    has_method,
    unserved_components,
)
from harness.kinds.sequence import is_int
from harness.kinds.token.examples import TokenExample
from harness.kinds.token.training import TokenTraining

NAME = "token-classification"
NER_PERTURBATIONS = "ner-typos, ner-synonyms or entity-swap"


class TokenClassification(TaskKind):
    """One tag per word: named-entity recognition."""

    name = NAME
    example_type = TokenExample
    # A sentence has no single label to keep the shares of: samples are plain seeded ones.
    stratified_sampling = False
    label_fields = ("tags",)
    training = TokenTraining()

    def fingerprint(self, examples: Sequence[Any]) -> str:
        if not examples:  # the key an empty split always had
            return content_key({"examples": []})
        # Their own tag, so that no key of a text task can ever equal one of a token task.
        return content_key({"token_examples": [(example.id, list(example.tokens), list(example.tags))
                                               for example in examples]})

    def check_example(self, example: TokenExample, data: TaskData, where: str) -> None:
        names = data.label_names
        if not example.tokens or not all(isinstance(token, str) and token for token in example.tokens):
            raise AssertionError(f"{where}: example {example.id!r} must have non-empty string tokens, got "
                                 f"{example.tokens!r}")
        if len(example.tags) != len(example.tokens):
            raise AssertionError(f"{where}: example {example.id!r} has {len(example.tokens)} tokens but "
                                 f"{len(example.tags)} tags; one tag per token")
        if not all(is_int(tag) and 0 <= tag < len(names) for tag in example.tags):
            raise AssertionError(f"{where}: example {example.id!r} has tags {example.tags!r}; tags are integers in "
                                 f"0..{len(names) - 1} (indexes of label_names, IOB2 names such as 'B-PER')")

    def model_class(self) -> Any:
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification

    def peft_task_type(self, model: Any = None) -> Any:
        from peft import TaskType

        return TaskType.TOKEN_CLS

    def adapt_peft_model(self, model: Any) -> Any:
        """Prompt and prefix tuning put virtual tokens before the words; the tagger must not tag them."""
        from harness.modeling.virtual_tokens import trim_virtual_tokens

        return trim_virtual_tokens(model)

    def make_predictor(self, model: Any, tokenizer: Any, device: str, max_length: int, batch_size: int,
                       label_names: tuple[str, ...]) -> Any:
        from harness.kinds.token.predictor import TokenPredictor

        outside = label_names.index("O") if "O" in label_names else 0  # what a truncated word is predicted as
        return TokenPredictor(model, tokenizer, device, max_length=max_length, batch_size=batch_size,
                              outside_index=outside)

    def check_components(self, suite: Any, registry: Any, task: TaskData) -> list[SuiteError]:
        """Refuse what cannot serve a tagger: augmentation and adversarial training, text augmenters,
        TextAttack recipes and text explainers."""
        problems: list[SuiteError] = []
        what = f"task {task.name!r} is token classification (NER)"
        for method in suite.methods:
            if method.augment is not None:
                problems.append(SuiteError(f"method {method.label!r}: `augment:` (training on augmented copies) is "
                                           f"not supported for token classification (NER) yet; {what}",
                                           method.augment.augmenter.location, method.augment.augmenter.plugin))
            if method.adversarial is not None:
                problems.append(SuiteError(f"method {method.label!r}: adversarial training is not supported for "
                                           f"token classification (NER); {what}",
                                           method.adversarial.attack.location, method.adversarial.attack.plugin))
        problems += unserved_components((
            ComponentSection(suite.attacks, "attack", "supports sequence classification only",
                             lambda factory: getattr(factory, "supports_token_classification", False), "ner-greedy"),
            ComponentSection(suite.perturbations, "perturbation", "perturbs texts (sequence classification only)",
                             has_method("perturb_tokens"), NER_PERTURBATIONS),
            ComponentSection(suite.explainers, "explainer", "explains sequence classification only",
                             has_method("explain_entities"), "integrated-gradients"),
        ), registry, NAME, what)
        for ref in suite.judges:
            problems.append(SuiteError(f"judge {ref.name!r}: judges of adversarial examples judge text attacks "
                                       f"(sequence classification); {what}, whose attacks swap entities and are not "
                                       f"judged yet", ref.location, ref.plugin))
        return problems

    def stages(self) -> tuple[StageSpec, ...]:
        from harness.kinds.token.stages import STAGES

        return STAGES

    def report_view(self, run: Any) -> ReportView:
        from harness.kinds.token.report import report_view

        return report_view(run)
