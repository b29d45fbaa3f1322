"""Augmenter `wordnet-synonyms`: TextAttack's augmenter. Replaces words with WordNet synonyms.

Needs WordNet (Debian wordnet-base). Missing resources fail `harness validate` with what is needed and how to get it.
Deterministic: each text's augmentation depends only on the stage seed and the text. A text with nothing to change is
returned as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import AugmenterConfig, TextAttackAugmenter, check_augmenter, hookimpl


@dataclass(frozen=True)
class WordNetSynonymsConfig(AugmenterConfig):
    def __post_init__(self):
        super().__post_init__()
        check_augmenter("wordnet-synonyms", self)


class WordNetSynonymsAugmenter(TextAttackAugmenter):
    name = "wordnet-synonyms"


@hookimpl
def register_augmenters(register):
    register("wordnet-synonyms", WordNetSynonymsAugmenter, config=WordNetSynonymsConfig,
             description="Replaces words with WordNet synonyms")
