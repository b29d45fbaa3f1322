r"""Augmenter `punctuation`: removes punctuation, or adds punctuation marks after words.

What changes in the text, by mode:
- "strip": every punctuation character, i.e. of Unicode category P* (. , ; : ! ? " ' ( ) [ ] { } - _ / \ % & *
  # @ and their Unicode forms such as “ ” – — …; not the symbols $ + < = > ^ ` | ~, which are category S*), is
  deleted, except punctuation that belongs to a word or a number:
    * an apostrophe (' or ’) between two letters ("don't", "o'clock", "n't" of tokenised text), or one that starts
      a clitic token of tokenised text ("it 's", "we 're", "I 've", "you 'll", "I 'd", "I 'm");
    * a hyphen (-) between two letters or digits ("well-known", "covid-19");
    * a full stop or comma between two digits ("3.5", "1,000").
  A whitespace-separated token that consisted only of deleted punctuation disappears together with the
  whitespace before it (the whitespace after it, for the first token), so "Great , isn't it ?" becomes
  "Great isn't it"; all other whitespace is kept as it was.
- "add": round(rate x tokens) whitespace-separated tokens (halves round up), but at least one when the text has a
  token and rate > 0, get one punctuation mark, drawn uniformly from `marks`, appended right after them
  ("a good film" -> "a good, film"). Nothing else changes. Which tokens and which marks depend only on
  (seed, "punctuation", text), through a hashlib digest: the same text is changed the same way whatever batch it
  comes in, and another seed changes it differently. rate and marks are used only by this mode.
Texts with nothing to change (no punctuation for "strip"; the empty string or only whitespace for "add") come
back unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, Sequence, get_args

from harness import PairTargetSetting, StageEnvironment, changes_for, check_rate, hookimpl, text_rng

PLUGIN = "punctuation"

Mode = Literal["strip", "add"]

CLITIC_TOKEN = re.compile(r"['’](?:s|re|ve|ll|d|m)", re.IGNORECASE)
TOKEN_OR_SPACE = re.compile(r"(\s+)")


@dataclass(frozen=True)
class PunctuationConfig(PairTargetSetting):
    mode: Mode = "strip"
    """"strip" (delete punctuation that is not part of a word or number) or "add" (append marks after tokens)."""
    rate: float = 0.1
    """mode "add" only: fraction of the tokens followed by a new mark, in [0, 1]; at least one when rate > 0."""
    marks: str = ".,;:!?"
    """mode "add" only: the marks to draw from (each one punctuation character)."""

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in get_args(Mode):
            raise ValueError(f"mode must be one of {', '.join(map(repr, get_args(Mode)))}, got {self.mode!r}")
        check_rate(self.rate)
        if not isinstance(self.marks, str) or not self.marks or not all(is_punctuation(mark) for mark in self.marks):
            raise ValueError(f"marks must be a non-empty string of punctuation characters, got {self.marks!r}")


def is_punctuation(character: str) -> bool:
    return unicodedata.category(character).startswith("P")


def _kept(token: str, index: int) -> bool:
    """Whether the punctuation character token[index] belongs to a word or a number."""
    character = token[index]
    before = token[index - 1] if index > 0 else ""
    after = token[index + 1] if index + 1 < len(token) else ""
    if character in "'’":
        if before.isalpha() and after.isalpha():
            return True
        return index == 0 and CLITIC_TOKEN.fullmatch(token) is not None
    if character == "-":
        return before.isalnum() and after.isalnum()
    if character in ".,":
        return before.isdigit() and after.isdigit()
    return False


def strip_token(token: str) -> str:
    if not any(is_punctuation(character) for character in token):
        return token
    return "".join(character for index, character in enumerate(token)
                   if not is_punctuation(character) or _kept(token, index))


def strip_punctuation(text: str) -> str:
    # Alternating [token, space, token, ..., token]; the first and last tokens are empty when the text starts or
    # ends with whitespace.
    parts = TOKEN_OR_SPACE.split(text)
    originals, spaces = parts[0::2], parts[1::2]
    tokens = [strip_token(token) for token in originals]
    if tokens == originals:
        return text
    pieces: list[str] = []
    seen_token = skip_space = False
    for position, (original, token) in enumerate(zip(originals, tokens)):
        space = spaces[position - 1] if position > 0 and not skip_space else ""
        skip_space = False
        if original and not token:
            # A vanished token takes the whitespace before it along, or after it when no token precedes it.
            if not seen_token:
                pieces.append(space)
                skip_space = True
            continue
        pieces += [space, token]
        seen_token = seen_token or bool(token)
    return "".join(pieces)


class Punctuation:
    """Strips punctuation, or appends punctuation marks after a fraction of the tokens."""

    def __init__(self, config: PunctuationConfig):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        if self.config.mode == "strip":
            return [strip_punctuation(text) for text in texts]
        return [self.add(text, env.seed) for text in texts]

    def add(self, text: str, seed: int) -> str:
        parts = TOKEN_OR_SPACE.split(text)
        tokens = [index for index in range(0, len(parts), 2) if parts[index]]
        count = changes_for(self.config.rate, len(tokens))
        if count == 0:
            return text
        rng = text_rng(seed, PLUGIN, text)
        for index in sorted(rng.sample(tokens, count)):
            parts[index] += rng.choice(self.config.marks)
        return "".join(parts)


@hookimpl
def register_augmenters(register):
    register(PLUGIN, Punctuation, config=PunctuationConfig,
             description="Strips punctuation (keeping apostrophes, hyphens and separators inside words and numbers) "
                         "or appends punctuation marks after a fraction of the words")
