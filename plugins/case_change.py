"""Augmenter `case-change`: changes the letter case of the text.

What changes in the text, by mode:
- "lower": the whole text through str.lower() ("The BBC" -> "the bbc").
- "upper": the whole text through str.upper() ("The BBC" -> "THE BBC"; "ß" becomes "SS", as str.upper does).
- "title": each word gets an upper-case first letter and lower-case other letters ("the BBC's news" ->
  "The Bbc's News"). A word is a run of letters, possibly joined by apostrophes ("don't" stays one word, so it
  becomes "Don't", not str.title()'s "Don'T"); the clitics of tokenised text (SST-2's "n't", "'s", "'re", ...)
  are left as they are, and so are letters right after a digit ("3d", "90s"). Digits and punctuation are
  unchanged.
- "random": the case of round(rate x cased letters) letters (halves round up), but at least one when the text
  has a cased letter and rate > 0, is toggled ("a" <-> "A"). A cased letter is one whose str.swapcase() is a
  single, different character, so the text keeps its length. Which letters are toggled depends only on
  (seed, "case-change", text), through a hashlib digest: the same text is changed the same way whatever batch it
  comes in, and another seed changes it differently. rate is used only by this mode.
Texts with nothing to change (e.g. already lower case for "lower", the empty string) come back unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Sequence, get_args

from harness import PairTargetSetting, StageEnvironment, changes_for, check_rate, hookimpl, text_rng

PLUGIN = "case-change"

Mode = Literal["lower", "upper", "title", "random"]

# A word for "title": letters joined by apostrophes. It must not be a clitic of tokenised text ("n't", or the
# "s" of "'s"), so that "do n't" and "it 's" keep their clitics in lower case.
TITLE_WORD = re.compile(r"(?<!\d)(?!n['’]t\b)(?!(?<=['’])(?:s|re|ve|ll|d|m|t)\b)[^\W\d_]+(?:['’][^\W\d_]+)*",
                        re.IGNORECASE)


@dataclass(frozen=True)
class CaseChangeConfig(PairTargetSetting):
    mode: Mode = "lower"
    """"lower", "upper", "title" (first letter of each word upper), or "random" (toggle a fraction of letters)."""
    rate: float = 0.1
    """mode "random" only: fraction of the cased letters toggled, in [0, 1]; at least one when rate > 0."""

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in get_args(Mode):
            raise ValueError(f"mode must be one of {', '.join(map(repr, get_args(Mode)))}, got {self.mode!r}")
        check_rate(self.rate)


def _title_word(match: re.Match) -> str:
    word = match.group()
    return word[0].upper() + word[1:].lower()


class CaseChange:
    """Lower-cases, upper-cases, title-cases or randomly toggles the case of letters."""

    def __init__(self, config: CaseChangeConfig):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        mode = self.config.mode
        if mode == "lower":
            return [text.lower() for text in texts]
        if mode == "upper":
            return [text.upper() for text in texts]
        if mode == "title":
            return [TITLE_WORD.sub(_title_word, text) for text in texts]
        return [self.toggle(text, env.seed) for text in texts]

    def toggle(self, text: str, seed: int) -> str:
        positions = [index for index, character in enumerate(text)
                     if len(swapped := character.swapcase()) == 1 and swapped != character]
        count = changes_for(self.config.rate, len(positions))
        if count == 0:
            return text
        characters = list(text)
        for index in text_rng(seed, PLUGIN, text).sample(positions, count):
            characters[index] = characters[index].swapcase()
        return "".join(characters)


@hookimpl
def register_augmenters(register):
    register(PLUGIN, CaseChange, config=CaseChangeConfig,
             description="Lower-cases, upper-cases, title-cases or randomly toggles the case of letters")
