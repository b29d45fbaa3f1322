"""Augmenter `embedding-synonyms`: TextAttack's augmenter. Replaces words with counter-fitted embedding neighbours
(cosine >= 0.8).

Needs the counter-fitted embeddings (download, or `harness import-embeddings`). Missing resources fail `harness
validate` with what is needed and how to get it. Deterministic: each text's augmentation depends only on the stage seed
and the text. A text with nothing to change is returned as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import AugmenterConfig, TextAttackAugmenter, check_augmenter, hookimpl


@dataclass(frozen=True)
class EmbeddingSynonymsConfig(AugmenterConfig):
    def __post_init__(self):
        super().__post_init__()
        check_augmenter("embedding-synonyms", self)


class EmbeddingSynonymsAugmenter(TextAttackAugmenter):
    name = "embedding-synonyms"


@hookimpl
def register_augmenters(register):
    register("embedding-synonyms", EmbeddingSynonymsAugmenter, config=EmbeddingSynonymsConfig,
             description="Replaces words with counter-fitted embedding neighbours (cosine >= 0.8)")
