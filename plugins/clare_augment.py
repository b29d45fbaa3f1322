"""Augmenter `clare-augment`: TextAttack's augmenter. CLARE's masked-LM replace/insert/merge.

Needs distilroberta-base and the Universal Sentence Encoder (downloads). Missing resources fail `harness validate` with
what is needed and how to get it. Deterministic: each text's augmentation depends only on the stage seed and the text. A
text with nothing to change is returned as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import AugmenterConfig, TextAttackAugmenter, check_augmenter, hookimpl


@dataclass(frozen=True)
class ClareAugmentConfig(AugmenterConfig):
    def __post_init__(self):
        super().__post_init__()
        check_augmenter("clare-augment", self)


class ClareAugmentAugmenter(TextAttackAugmenter):
    name = "clare-augment"


@hookimpl
def register_augmenters(register):
    register("clare-augment", ClareAugmentAugmenter, config=ClareAugmentConfig,
             description="CLARE's masked-LM replace/insert/merge")
