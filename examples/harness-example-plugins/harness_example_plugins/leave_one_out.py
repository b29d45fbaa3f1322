"""Explainer `leave-one-out`: word occlusion through the harness predictor (leave-one-out / erasure, Li et al. 2016,
"Understanding Neural Networks through Representation Erasure").

Each word is left out of the text in turn, deleted (`replacement: delete`) or replaced by the tokenizer's unknown
token (`replacement: unk`), and its score is how much that lowers the explained class's probability
(`score: probability`) or log-odds (`score: log-odds`). The explained class is the model's prediction on the whole
text. Words are runs of non-space characters, and their character spans are filled, so the harness's faithfulness
metrics delete exactly these words. The texts of `batch_size` examples go to classifier.predictor in one call
(it batches by length and caches), so the cost is one forward per word, for any model, adapters included.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterator, Literal, Sequence

from harness import Classifier, Example, ExplainerSettings, ExplainOutcome, StageEnvironment, WordAttribution, hookimpl

NAME = "leave-one-out"
WORD = re.compile(r"\S+")
PROBABILITY_FLOOR = 1e-6
"""Probabilities are clipped to [floor, 1 - floor] before log-odds, so a saturated model gives finite scores."""


@dataclass(frozen=True)
class LeaveOneOutConfig(ExplainerSettings):
    """ExplainerSettings brings the switches of the quality metrics the harness computes around every explainer
    (faithfulness, stability, randomization_check)."""

    batch_size: int = 16
    """Examples whose occluded texts go to the predictor in one call."""
    replacement: Literal["delete", "unk"] = "delete"
    """Delete the left-out word, or put the tokenizer's unknown token in its place."""
    score: Literal["probability", "log-odds"] = "probability"
    """Drop of the explained class's probability, or of its log-odds (spreads scores of a confident model)."""


def log_odds(probability: float) -> float:
    clipped = min(max(probability, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR)
    return math.log(clipped / (1 - clipped))


class LeaveOneOut:
    """Scores each word by the drop of the predicted class without it."""

    def __init__(self, config: LeaveOneOutConfig):
        self.config = config

    def explain(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> ExplainOutcome:
        attributions: list[WordAttribution] = []
        bar = env.progress(total=len(examples), desc=f"explain {NAME}", unit="example")
        try:
            for start in range(0, len(examples), self.config.batch_size):
                batch = list(examples[start:start + self.config.batch_size])
                attributions.extend(self.explain_batch(classifier, batch))
                bar.update(len(batch))
        finally:
            bar.close()
        return ExplainOutcome(attributions=tuple(attributions))

    def replacement_text(self, classifier: Classifier) -> str:
        if self.config.replacement == "delete":
            return ""
        unknown = classifier.tokenizer.unk_token
        if unknown is None:
            raise ValueError(f"explainer {NAME!r}: this model's tokenizer has no unknown token; "
                             "use replacement: delete")
        return unknown

    def explain_batch(self, classifier: Classifier, examples: list[Example]) -> Iterator[WordAttribution]:
        replacement = self.replacement_text(classifier)
        spans = [tuple(match.span() for match in WORD.finditer(example.text)) for example in examples]
        occluded = [example.text[:start] + replacement + example.text[end:]
                    for example, example_spans in zip(examples, spans) for start, end in example_spans]
        probabilities = classifier.predictor.probabilities([example.text for example in examples] + occluded)
        transform = log_odds if self.config.score == "log-odds" else float
        position = len(examples)
        for row, (example, example_spans) in enumerate(zip(examples, spans)):
            target = int(probabilities[row].argmax())
            whole = transform(float(probabilities[row, target]))
            without_word = probabilities[position:position + len(example_spans), target]
            position += len(example_spans)
            yield WordAttribution(
                example_id=example.id,
                words=tuple(example.text[start:end] for start, end in example_spans),
                scores=tuple(whole - transform(float(value)) for value in without_word),
                target=target, label=example.label, spans=example_spans)


@hookimpl
def register_explainers(register):
    register(NAME, LeaveOneOut, config=LeaveOneOutConfig,
             description="Leave-one-word-out occlusion: drop of the predicted class's probability (or log-odds) "
                         "without each word")
