"""Augmenter `char-swap`: swaps two adjacent letters inside words ("typoglycemia": "robustness" -> "robsutness").

What changes in the text:
- A word is a maximal run of letters (Unicode letters; digits, underscores, apostrophes and hyphens end a word,
  so "don't" is the words "don" and "t").
- A word is eligible when it has two adjacent, different letters that may be swapped: with keep_ends = True (the
  default) neither of them may be the word's first or last letter, so only words of four or more letters are
  eligible; with keep_ends = False any two adjacent letters of the word may be swapped.
- round(rate x eligible words) words (halves round up), but at least one when there is an eligible word and
  rate > 0, get exactly one swap each, at a uniformly drawn eligible pair; every other character stays, so the
  text keeps its length and each changed word is an anagram of the original differing in two adjacent places.
- rate = 0, the empty string and texts without an eligible word come back unchanged.

Deterministic: the choice depends only on (seed, "char-swap", text), through a hashlib digest, so a text is
perturbed the same way whatever batch it comes in, and another seed perturbs it differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from harness import PairTargetSetting, StageEnvironment, changes_for, check_rate, hookimpl, text_rng

PLUGIN = "char-swap"

WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class CharSwapConfig(PairTargetSetting):
    rate: float = 0.1
    """Fraction of the eligible words that get one swap, in [0, 1]; at least one word per text when rate > 0."""
    keep_ends: bool = True
    """Never move a word's first or last letter (only words of 4+ letters change); False: any adjacent pair."""

    def __post_init__(self):
        super().__post_init__()
        check_rate(self.rate)
        if not isinstance(self.keep_ends, bool):
            raise ValueError(f"keep_ends must be true or false, got {self.keep_ends!r}")


class CharSwap:
    """Swaps adjacent letters inside words."""

    def __init__(self, config: CharSwapConfig):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        return [self.perturb(text, env.seed) for text in texts]

    def swappable_pairs(self, word: str) -> list[int]:
        """Indices i such that word[i] and word[i + 1] may be swapped and differ (a swap must change the word)."""
        first, last = (1, len(word) - 3) if self.config.keep_ends else (0, len(word) - 2)
        return [i for i in range(first, last + 1) if word[i] != word[i + 1]]

    def perturb(self, text: str, seed: int) -> str:
        if self.config.rate <= 0.0:
            return text
        words = [(match.start(), pairs) for match in WORD.finditer(text)
                 if (pairs := self.swappable_pairs(match.group()))]
        count = changes_for(self.config.rate, len(words))
        if count == 0:
            return text
        rng = text_rng(seed, PLUGIN, text)
        characters = list(text)
        for start, pairs in rng.sample(words, count):
            index = start + rng.choice(pairs)
            characters[index], characters[index + 1] = characters[index + 1], characters[index]
        return "".join(characters)


@hookimpl
def register_augmenters(register):
    register(PLUGIN, CharSwap, config=CharSwapConfig,
             description="Swaps two adjacent letters inside a fraction of the words (first and last letters kept)")
