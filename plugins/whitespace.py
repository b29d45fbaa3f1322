"""Augmenter `whitespace`: normalises, adds or removes whitespace between words.

What changes in the text, by mode (a gap is a run of whitespace characters between two non-whitespace
characters; whitespace at the start or end of the text is not a gap):
- "collapse": every run of whitespace (spaces, tabs, newlines, ...) becomes one space, and whitespace at the start
  and end of the text is removed: " ".join(text.split()). Deterministic; rate and the seed are not used.
- "extra": round(rate x gaps) gaps (halves round up), but at least one when the text has a gap and rate > 0, get
  one more space appended ("a good film" -> "a good  film"). No word is split or joined, so most tokenisers see
  the same tokens: a control that should flip no prediction.
- "remove-random": round(rate x gaps) gaps (halves round up), but at least one when the text has a gap and
  rate > 0, are deleted, joining the words on either side ("a good film" -> "a goodfilm").
For "extra" and "remove-random", which gaps change depends only on (seed, "whitespace", text), through a
hashlib digest: the same text is changed the same way whatever batch it comes in, and another seed changes it
differently. Texts with nothing to change (already collapsed; a single word; the empty string) come back
unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Sequence, get_args

from harness import PairTargetSetting, StageEnvironment, changes_for, check_rate, hookimpl, text_rng

PLUGIN = "whitespace"

Mode = Literal["collapse", "extra", "remove-random"]

GAP = re.compile(r"(?<=\S)\s+(?=\S)")


@dataclass(frozen=True)
class WhitespaceConfig(PairTargetSetting):
    mode: Mode = "collapse"
    """"collapse" (one space everywhere, no leading or trailing whitespace), "extra" (add a space to a fraction of
    the gaps between words) or "remove-random" (delete a fraction of the gaps, joining words)."""
    rate: float = 0.1
    """modes "extra" and "remove-random": fraction of the gaps changed, in [0, 1]; at least one when rate > 0."""

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in get_args(Mode):
            raise ValueError(f"mode must be one of {', '.join(map(repr, get_args(Mode)))}, got {self.mode!r}")
        check_rate(self.rate)


class Whitespace:
    """Collapses whitespace, or adds or removes it between a fraction of the words."""

    def __init__(self, config: WhitespaceConfig):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        if self.config.mode == "collapse":
            return [" ".join(text.split()) for text in texts]
        return [self.change_gaps(text, env.seed) for text in texts]

    def change_gaps(self, text: str, seed: int) -> str:
        gaps = [match.span() for match in GAP.finditer(text)]
        count = changes_for(self.config.rate, len(gaps))
        if count == 0:
            return text
        chosen = sorted(text_rng(seed, PLUGIN, text).sample(gaps, count))
        pieces, previous = [], 0
        for start, end in chosen:
            if self.config.mode == "extra":
                pieces.append(text[previous:end] + " ")
            else:
                pieces.append(text[previous:start])
            previous = end
        pieces.append(text[previous:])
        return "".join(pieces)


@hookimpl
def register_augmenters(register):
    register(PLUGIN, Whitespace, config=WhitespaceConfig,
             description="Collapses whitespace, or adds extra spaces / removes spaces between a fraction of the words")
