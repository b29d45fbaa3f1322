"""Perturbation `entity-swap`: entities replaced by other names of the same type.

For token-classification (NER) tasks only. round(rate x candidates) gold entities per sentence (at least one when
there is a candidate) are replaced by another entity of the same type, drawn from the entities of the training
split (names the model may have seen, in another sentence) and tagged B-TYPE I-TYPE ... for their own length
(harness.kinds.token.perturbations.entity_swaps). The only NER perturbation that changes the number of words: the gold
tags follow. A model that learned the context rather than a list of names keeps finding the swapped entities.
Deterministic per sentence and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harness import StageEnvironment, TaskData, TokenExample, check_rate, hookimpl

PLUGIN = "entity-swap"


@dataclass(frozen=True)
class EntitySwapConfig:
    rate: float = 0.5
    """Fraction of each sentence's entities that are replaced, in [0, 1]."""

    def __post_init__(self):
        check_rate(self.rate)


class EntitySwap:
    """Swaps entities for others of their type from the training split."""

    supports_sequence_classification = False

    def __init__(self, config: EntitySwapConfig):
        self.config = config

    def perturb_tokens(self, examples: Sequence[TokenExample], task: TaskData,
                       env: StageEnvironment) -> list[TokenExample]:
        from harness import EntityPool, entity_swaps

        pool = EntityPool.from_examples(task.train, task.label_names)
        return [entity_swaps(example, task.label_names, pool, rate=self.config.rate, seed=env.seed)
                for example in examples]


@hookimpl
def register_augmenters(register):
    register(PLUGIN, EntitySwap, config=EntitySwapConfig,
             description="NER: entities swapped for same-type names from the training split (token classification)")
