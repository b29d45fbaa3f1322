"""Augmenter `keyboard-typos`: replaces letters with a neighbouring key on a QWERTY keyboard.

What changes in the text:
- Only the ASCII letters a-z and A-Z are candidates; every other character (digits, punctuation, whitespace,
  accented and non-Latin letters) is left exactly where it is, so the length of the text never changes.
- The number of letters replaced is round(rate x candidates) (halves round up), but at least one when the text
  has a candidate letter and rate > 0; rate = 0 returns every text unchanged. Which letters are replaced is drawn
  without replacement, so each changed position differs from the original in exactly one letter.
- A letter is replaced by one of its horizontally or diagonally adjacent letter keys (KEYBOARD_NEIGHBOURS; e.g.
  "a" by "q", "w", "s" or "z"), never by a digit or a symbol, and never by itself.
- preserve_case = True: an upper-case letter becomes the upper-case neighbour ("A" -> "S"); False: the neighbour
  is always lower case, like a typo made without Shift.
- Texts without ASCII letters (and the empty string) come back unchanged.

Deterministic: the choice depends only on (seed, "keyboard-typos", text), through a hashlib digest, so a text is
perturbed the same way whatever batch it comes in, and another seed perturbs it differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harness import (
    KEYBOARD_NEIGHBOURS,
    PairTargetSetting,
    StageEnvironment,
    changes_for,
    check_rate,
    hookimpl,
    text_rng,
)

PLUGIN = "keyboard-typos"



@dataclass(frozen=True)
class KeyboardTyposConfig(PairTargetSetting):
    rate: float = 0.05
    """Fraction of the ASCII letters replaced, in [0, 1]; at least one letter per text when rate > 0."""
    preserve_case: bool = True
    """Upper-case letters get the upper-case neighbour; False: replacements are always lower case."""

    def __post_init__(self):
        super().__post_init__()
        check_rate(self.rate)
        if not isinstance(self.preserve_case, bool):
            raise ValueError(f"preserve_case must be true or false, got {self.preserve_case!r}")


class KeyboardTypos:
    """Replaces letters with neighbouring QWERTY keys."""

    def __init__(self, config: KeyboardTyposConfig):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        return [self.perturb(text, env.seed) for text in texts]

    def perturb(self, text: str, seed: int) -> str:
        positions = [index for index, character in enumerate(text)
                     if character.isascii() and character.lower() in KEYBOARD_NEIGHBOURS]
        count = changes_for(self.config.rate, len(positions))
        if count == 0:
            return text
        rng = text_rng(seed, PLUGIN, text)
        characters = list(text)
        for index in rng.sample(positions, count):
            original = characters[index]
            replacement = rng.choice(KEYBOARD_NEIGHBOURS[original.lower()])
            characters[index] = replacement.upper() if self.config.preserve_case and original.isupper() else replacement
        return "".join(characters)


@hookimpl
def register_augmenters(register):
    register(PLUGIN, KeyboardTypos, config=KeyboardTyposConfig,
             description="Replaces a fraction of letters with neighbouring QWERTY keys")
