"""Perturbation `ner-typos`: typos in the words outside every entity of a named-entity recognition sentence.

For token-classification (NER) tasks only. In round(rate x candidates) words outside the gold entity spans (at
least one when there is a candidate), one typo each: a letter replaced by a neighbouring QWERTY key (case kept)
or two adjacent characters swapped (`kind`). The number of words and the tags do not change, so every gold
entity keeps its span and the perturbation tests whether the model still finds it (harness.kinds.token.perturbations).
Deterministic per sentence and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from harness import StageEnvironment, TaskData, TokenExample, check_rate, hookimpl

PLUGIN = "ner-typos"


@dataclass(frozen=True)
class NerTyposConfig:
    rate: float = 0.1
    """Fraction of the words outside entities that get a typo, in [0, 1]."""
    kind: Literal["keyboard", "swap", "mixed"] = "mixed"
    """keyboard: a neighbouring key; swap: two adjacent characters trade places; mixed: either, drawn per word."""

    def __post_init__(self):
        check_rate(self.rate)
        if self.kind not in ("keyboard", "swap", "mixed"):
            raise ValueError(f"kind must be keyboard, swap or mixed, got {self.kind!r}")


class NerTypos:
    """Typos outside the entities of NER sentences."""

    supports_sequence_classification = False

    def __init__(self, config: NerTyposConfig):
        self.config = config

    def perturb_tokens(self, examples: Sequence[TokenExample], task: TaskData,
                       env: StageEnvironment) -> list[TokenExample]:
        from harness import token_typos

        return [token_typos(example, task.label_names, rate=self.config.rate, seed=env.seed, kind=self.config.kind)
                for example in examples]


@hookimpl
def register_augmenters(register):
    register(PLUGIN, NerTypos, config=NerTyposConfig,
             description="NER: typos in words outside the entities (token classification; tags unchanged)")
