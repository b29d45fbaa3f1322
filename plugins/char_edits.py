"""Augmenter `char-edits`: TextAttack's augmenter. Character-level edits inside words: neighbour swaps, substitutions,
insertions, deletions.

Runs offline. Missing resources fail `harness validate` with what is needed and how to get it. Deterministic: each
text's augmentation depends only on the stage seed and the text. A text with nothing to change is returned as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import AugmenterConfig, TextAttackAugmenter, check_augmenter, hookimpl


@dataclass(frozen=True)
class CharEditsConfig(AugmenterConfig):
    def __post_init__(self):
        super().__post_init__()
        check_augmenter("char-edits", self)


class CharEditsAugmenter(TextAttackAugmenter):
    name = "char-edits"


@hookimpl
def register_augmenters(register):
    register("char-edits", CharEditsAugmenter, config=CharEditsConfig,
             description="Character-level edits inside words: neighbour swaps, substitutions, insertions, deletions")
