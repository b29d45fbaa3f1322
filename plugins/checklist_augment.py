"""Augmenter `checklist-augment`: TextAttack's augmenter. CheckList invariances: names, locations, numbers,
contractions.

Needs flair's NER model (download). Missing resources fail `harness validate` with what is needed and how to get it.
Deterministic: each text's augmentation depends only on the stage seed and the text. A text with nothing to change is
returned as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import AugmenterConfig, TextAttackAugmenter, check_augmenter, hookimpl


@dataclass(frozen=True)
class CheckListAugmentConfig(AugmenterConfig):
    def __post_init__(self):
        super().__post_init__()
        check_augmenter("checklist-augment", self)


class CheckListAugmentAugmenter(TextAttackAugmenter):
    name = "checklist-augment"


@hookimpl
def register_augmenters(register):
    register("checklist-augment", CheckListAugmentAugmenter, config=CheckListAugmentConfig,
             description="CheckList invariances: names, locations, numbers, contractions")
