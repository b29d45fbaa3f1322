"""Augmenter `eda`: TextAttack's augmenter. EDA (Wei & Zou 2019): WordNet synonym replacement, random deletion, swap and
synonym insertion; one of them per text.

Needs WordNet (Debian wordnet-base). Missing resources fail `harness validate` with what is needed and how to get it.
Deterministic: each text's augmentation depends only on the stage seed and the text. A text with nothing to change is
returned as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import AugmenterConfig, TextAttackAugmenter, check_augmenter, hookimpl


@dataclass(frozen=True)
class EasyDataConfig(AugmenterConfig):
    def __post_init__(self):
        super().__post_init__()
        check_augmenter("eda", self)


class EasyDataAugmenter(TextAttackAugmenter):
    name = "eda"


@hookimpl
def register_augmenters(register):
    register("eda", EasyDataAugmenter, config=EasyDataConfig,
             description="EDA (Wei & Zou 2019): WordNet synonym replacement, random deletion, swap and synonym "
                         "insertion; one of them per text")
