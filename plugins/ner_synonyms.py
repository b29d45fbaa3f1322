"""Perturbation `ner-synonyms`: WordNet synonyms for words outside every entity of a named-entity recognition
sentence.

For token-classification (NER) tasks only. round(rate x candidates) words outside the gold entity spans that have
a synonym (at least one when there is one) are replaced: single-word, lower-case (never proper-noun) WordNet
lemmas, no stopwords, the original's capitalisation kept (harness.kinds.token.perturbations.synonym_swaps). The number
of
words and the tags do not change, so every entity keeps its span. WordNet comes from the harness's offline NLTK
data (`harness doctor`). Deterministic per sentence and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harness import StageEnvironment, TaskData, TokenExample, check_rate, hookimpl

PLUGIN = "ner-synonyms"


@dataclass(frozen=True)
class NerSynonymsConfig:
    rate: float = 0.1
    """Fraction of the words outside entities (those with a synonym) that are replaced, in [0, 1]."""

    def __post_init__(self):
        check_rate(self.rate)


class NerSynonyms:
    """WordNet synonyms outside the entities of NER sentences."""

    supports_sequence_classification = False

    def __init__(self, config: NerSynonymsConfig):
        self.config = config

    def perturb_tokens(self, examples: Sequence[TokenExample], task: TaskData,
                       env: StageEnvironment) -> list[TokenExample]:
        from harness import synonym_swaps

        return [synonym_swaps(example, task.label_names, rate=self.config.rate, seed=env.seed)
                for example in examples]


@hookimpl
def register_augmenters(register):
    register(PLUGIN, NerSynonyms, config=NerSynonymsConfig,
             description="NER: WordNet synonyms for words outside the entities (token classification)")
