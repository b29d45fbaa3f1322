"""Augmenter / perturbation `vowel-drop`: drops the vowels from a seeded share of the words, as hurried typing and
text-speak do ("thanks for the movie" -> "thnks for the mv").

What changes in a text:
- Words are runs of non-space characters; whitespace and every other character stay as they are.
- A word is a candidate when it has at least `min_word_length` characters and a vowel (a, e, i, o, u, either case)
  after its first character. The first character is always kept ("apple" -> "appl", "about" -> "abt"), so a word
  never disappears and the text keeps its number of words.
- round(rate x candidates) candidate words lose those vowels (at least one word when rate > 0 and there is a
  candidate); rate = 0 returns every text unchanged.
- Deterministic: the choice depends only on (seed, "vowel-drop", text) through harness.text_rng, so a text is
  perturbed the same way in any batch, and another seed perturbs it differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from harness import StageEnvironment, changes_for, check_rate, hookimpl, text_rng

NAME = "vowel-drop"
VOWELS = frozenset("aeiouAEIOU")
WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class VowelDropConfig:
    rate: float = 0.25
    """Share of the candidate words that lose their vowels, in [0, 1]."""
    min_word_length: int = 3
    """Shorter words are left alone ("to", "is" stay readable)."""

    def __post_init__(self) -> None:
        # Messages start with the parameter's name, so `harness validate` points at its line in the suite.
        check_rate(self.rate)
        if self.min_word_length < 2:
            raise ValueError(f"min_word_length must be at least 2, got {self.min_word_length}")


class VowelDrop:
    """Drops the vowels (but a word's first letter) from a seeded share of the words."""

    def __init__(self, config: VowelDropConfig):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        return [self.perturb(text, env.seed) for text in texts]

    def is_candidate(self, text: str, start: int, end: int) -> bool:
        return end - start >= self.config.min_word_length and any(c in VOWELS for c in text[start + 1:end])

    def perturb(self, text: str, seed: int) -> str:
        candidates = [match.span() for match in WORD.finditer(text) if self.is_candidate(text, *match.span())]
        count = changes_for(self.config.rate, len(candidates))
        if count == 0:
            return text
        rng = text_rng(seed, NAME, text)
        pieces = []
        position = 0
        for start, end in sorted(rng.sample(candidates, count)):
            without_vowels = "".join(character for character in text[start + 1:end] if character not in VOWELS)
            pieces += [text[position:start], text[start], without_vowels]
            position = end
        pieces.append(text[position:])
        return "".join(pieces)


@hookimpl
def register_augmenters(register):
    register(NAME, VowelDrop, config=VowelDropConfig,
             description="Drops the vowels (but the first letter) from a seeded share of the words")
