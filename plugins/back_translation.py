"""Augmenter `back-translation`: TextAttack's augmenter. Back-translation through Romance languages with MarianMT.

Needs the Helsinki-NLP opus-mt models (downloads). Missing resources fail `harness validate` with what is needed and how
to get it. Deterministic: each text's augmentation depends only on the stage seed and the text. A text with nothing to
change is returned as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import AugmenterConfig, TextAttackAugmenter, check_augmenter, hookimpl


@dataclass(frozen=True)
class BackTranslationConfig(AugmenterConfig):
    def __post_init__(self):
        super().__post_init__()
        check_augmenter("back-translation", self)


class BackTranslationAugmenter(TextAttackAugmenter):
    name = "back-translation"


@hookimpl
def register_augmenters(register):
    register("back-translation", BackTranslationAugmenter, config=BackTranslationConfig,
             description="Back-translation through Romance languages with MarianMT")
