"""Augmenter `char-drop`: deletes one letter inside words ("robustness" -> "robustess").

What changes in the text:
- A word is a maximal run of letters (Unicode letters; digits, underscores, apostrophes and hyphens end a word,
  so "don't" is the words "don" and "t").
- A word is eligible when it has a letter that may be deleted: with keep_ends = True (the default) not its first
  or last letter, so only words of three or more letters are eligible; with keep_ends = False any letter of a word
  of two or more letters. A word therefore never disappears.
- round(rate x eligible words) words (halves round up), but at least one when there is an eligible word and
  rate > 0, lose exactly one letter each, at a uniformly drawn eligible position; nothing else changes, so the
  text becomes one character shorter per changed word.
- rate = 0, the empty string and texts without an eligible word come back unchanged.

Deterministic: the choice depends only on (seed, "char-drop", text), through a hashlib digest, so a text is
perturbed the same way whatever batch it comes in, and another seed perturbs it differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from harness import PairTargetSetting, StageEnvironment, changes_for, check_rate, hookimpl, text_rng

PLUGIN = "char-drop"

WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class CharDropConfig(PairTargetSetting):
    rate: float = 0.1
    """Fraction of the eligible words that lose one letter, in [0, 1]; at least one word per text when rate > 0."""
    keep_ends: bool = True
    """Never delete a word's first or last letter (only words of 3+ letters change); False: any letter of a word
    of 2+ letters."""

    def __post_init__(self):
        super().__post_init__()
        check_rate(self.rate)
        if not isinstance(self.keep_ends, bool):
            raise ValueError(f"keep_ends must be true or false, got {self.keep_ends!r}")


class CharDrop:
    """Deletes one letter inside a fraction of the words."""

    def __init__(self, config: CharDropConfig):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        return [self.perturb(text, env.seed) for text in texts]

    def perturb(self, text: str, seed: int) -> str:
        if self.config.rate <= 0.0:
            return text
        keep_ends = self.config.keep_ends
        minimum = 3 if keep_ends else 2
        words = [match.span() for match in WORD.finditer(text) if match.end() - match.start() >= minimum]
        count = changes_for(self.config.rate, len(words))
        if count == 0:
            return text
        rng = text_rng(seed, PLUGIN, text)
        dropped = sorted(rng.randrange(start + 1, end - 1) if keep_ends else rng.randrange(start, end)
                         for start, end in rng.sample(words, count))
        pieces, previous = [], 0
        for index in dropped:
            pieces.append(text[previous:index])
            previous = index + 1
        pieces.append(text[previous:])
        return "".join(pieces)


@hookimpl
def register_augmenters(register):
    register(PLUGIN, CharDrop, config=CharDropConfig,
             description="Deletes one letter inside a fraction of the words (first and last letters kept)")
