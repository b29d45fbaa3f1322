"""Augmenter `contractions`: expands English contractions ("don't" -> "do not") or contracts them.

What changes in the text, by direction (only the forms listed in NEGATIONS and PRONOUN_CONTRACTIONS change; every
other character, the whitespace between other words included, stays as it was):
- "expand": each contraction in the tables becomes its long form, whole words only, in joined form ("don't",
  "it's", "can't", with ' or ’) and in the tokenised form of SST-2 / the Penn Treebank ("do n't", "it 's",
  "ca n't", "wo n't": the clitic split off by one space): "don't" and "do n't" -> "do not", "can't" and
  "ca n't" -> "cannot", "won't" -> "will not", "shan't" -> "shall not", "it's" and "it 's" -> "it is",
  "I'm" -> "I am", "they're" -> "they are", "we've" -> "we have", "you'll" -> "you will", "I'd" -> "I would",
  "let's" -> "let us". The ambiguous "'s" always reads "is" and "'d" always "would" ("it's been" -> "it is
  been"); "'s" after any other word is a possessive and stays ("John's", "John 's").
- "contract": each long form in the tables becomes its contraction ("do not" -> "don't", "cannot" and
  "can not" -> "can't", "will not" -> "won't", "it is" -> "it's", "I am" -> "I'm", "they are" -> "they're",
  "you will" -> "you'll", "I would" -> "I'd"). The words may be separated by any whitespace. Left out because
  they would change the meaning or the grammar: "let us" ("let us go" vs "let us know"), "X have" ("I have a
  dog"), "X had" and "X has". A pronoun contraction is made only when a word other than "not" follows, so
  "I know what it is." and "I will not" stay unchanged / become "I won't". The apostrophe is ’ when the text
  uses ’ and no ', else '. split_clitics = True writes the tokenised form instead ("do n't", "ca n't",
  "it 's"), for models trained on SST-2-style text.
Case is carried over: a form written in upper case (more than one letter) is replaced in upper case ("DON'T" ->
"DO NOT"), one starting with an upper-case letter by one starting with an upper-case letter ("Don't" ->
"Do not", "I'm" -> "I am"), anything else in lower case.
Deterministic: the seed is not used. Texts without a form to change come back unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Sequence, get_args

from harness import PairTargetSetting, StageEnvironment, hookimpl

PLUGIN = "contractions"

Direction = Literal["contract", "expand"]

# (stem, long form) for every negation: the joined contraction is stem + "n't" ("ca" + "n't" = "can't"), the
# tokenised one stem + " n't" ("ca n't"), as the Penn Treebank splits it.
NEGATIONS = (
    ("is", "is not"), ("are", "are not"), ("was", "was not"), ("were", "were not"), ("has", "has not"),
    ("have", "have not"), ("had", "had not"), ("do", "do not"), ("does", "does not"), ("did", "did not"),
    ("could", "could not"), ("should", "should not"), ("would", "would not"), ("might", "might not"),
    ("must", "must not"), ("need", "need not"), ("ca", "cannot"), ("wo", "will not"), ("sha", "shall not"),
)
# Other spellings of a long form that contract the same way.
EXTRA_LONG_FORMS = (("can not", "cannot"),)

_CLITIC_VERBS = {"'m": "am", "'re": "are", "'s": "is", "'ve": "have", "'ll": "will", "'d": "would"}
_PRONOUN_CLITICS = {
    "i": ("'m", "'ve", "'ll", "'d"),
    "you": ("'re", "'ve", "'ll", "'d"),
    "he": ("'s", "'ll", "'d"), "she": ("'s", "'ll", "'d"), "it": ("'s", "'ll", "'d"),
    "we": ("'re", "'ve", "'ll", "'d"), "they": ("'re", "'ve", "'ll", "'d"),
    "that": ("'s", "'ll", "'d"), "there": ("'s", "'ll", "'d"), "here": ("'s",),
    "what": ("'s", "'re", "'ll"), "who": ("'s", "'re", "'ve", "'ll", "'d"),
    "where": ("'s",), "when": ("'s",), "why": ("'s",), "how": ("'s",),
}
# (stem, clitic, long form): "it" + "'s" <-> "it is".
PRONOUN_CONTRACTIONS = tuple(
    (stem, clitic, f"{stem} {_CLITIC_VERBS[clitic]}")
    for stem, clitics in _PRONOUN_CLITICS.items() for clitic in clitics
) + (("let", "'s", "let us"),)
# Contracting these long forms would change the meaning or the grammar (see the module docstring).
NOT_CONTRACTED = {"let us"} | {long for _, clitic, long in PRONOUN_CONTRACTIONS if clitic == "'ve"}

def _apostrophe_pattern(text: str) -> str:
    return re.escape(text).replace("'", "['’]")


def _alternation(forms) -> str:
    # Longest first, so that no form shadows a longer one that starts the same way.
    return "|".join(sorted(forms, key=len, reverse=True))


# Expansion: key = the contraction in lower case with ' and without whitespace ("do n't" -> "don't").
_EXPANSIONS: dict[str, str] = {}
_CONTRACTED_FORMS: list[str] = []
for _stem, _long in NEGATIONS:
    _EXPANSIONS[f"{_stem}n't"] = _long
    _CONTRACTED_FORMS.append(rf"{re.escape(_stem)}[^\S\n]?n['’]t")
for _stem, _clitic, _long in PRONOUN_CONTRACTIONS:
    _EXPANSIONS[f"{_stem}{_clitic}"] = _long
    _CONTRACTED_FORMS.append(rf"{re.escape(_stem)}[^\S\n]?{_apostrophe_pattern(_clitic)}")

EXPANDABLE = re.compile(rf"(?<![\w'’])(?:{_alternation(_CONTRACTED_FORMS)})(?![\w'’])", re.IGNORECASE)

# Contraction: key = the long form in lower case with single spaces; value = (stem, clitic).
_CONTRACTIONS: dict[str, tuple[str, str]] = {}
_LONG_NEGATIONS: list[str] = []
_LONG_PRONOUN_FORMS: list[str] = []
for _stem, _long in NEGATIONS:
    _CONTRACTIONS[_long] = (_stem, "n't")
    _LONG_NEGATIONS.append(r"\s+".join(map(re.escape, _long.split())))
for _long, _same_as in EXTRA_LONG_FORMS:
    _CONTRACTIONS[_long] = _CONTRACTIONS[_same_as]
    _LONG_NEGATIONS.append(r"\s+".join(map(re.escape, _long.split())))
for _stem, _clitic, _long in PRONOUN_CONTRACTIONS:
    if _long not in NOT_CONTRACTED:
        _CONTRACTIONS[_long] = (_stem, _clitic)
        _LONG_PRONOUN_FORMS.append(r"\s+".join(map(re.escape, _long.split())))

CONTRACTIBLE = re.compile(
    rf"(?<![\w'’])(?:(?:{_alternation(_LONG_NEGATIONS)})(?![\w'’])"
    # A pronoun contraction needs a following word other than "not": "what it is." and "I will not" stay.
    rf"|(?:{_alternation(_LONG_PRONOUN_FORMS)})(?=\s+(?!not(?![\w'’]))[^\s.,;:!?)\]}}\-–—]))",
    re.IGNORECASE)


@dataclass(frozen=True)
class ContractionsConfig(PairTargetSetting):
    direction: Direction = "expand"
    """"expand" ("don't" -> "do not", also tokenised "do n't") or "contract" ("do not" -> "don't")."""
    split_clitics: bool = False
    """direction "contract" only: write the tokenised form ("do n't", "it 's") as in SST-2."""

    def __post_init__(self):
        super().__post_init__()
        if self.direction not in get_args(Direction):
            raise ValueError(f"direction must be one of {', '.join(map(repr, get_args(Direction)))}, "
                             f"got {self.direction!r}")
        if not isinstance(self.split_clitics, bool):
            raise ValueError(f"split_clitics must be true or false, got {self.split_clitics!r}")


def carry_case(original: str, replacement: str) -> str:
    """`replacement` (lower case) in the case of `original`."""
    letters = [character for character in original if character.isalpha()]
    if len(letters) > 1 and all(character.isupper() for character in letters):
        return replacement.upper()
    if original[0].isupper():
        return replacement[0].upper() + replacement[1:]
    return replacement


def expand(text: str) -> str:
    def replace(match: re.Match) -> str:
        found = match.group()
        key = "".join(found.split()).lower().replace("’", "'")
        return carry_case(found, _EXPANSIONS[key])

    return EXPANDABLE.sub(replace, text)


def contract(text: str, split_clitics: bool) -> str:
    apostrophe = "’" if "’" in text and "'" not in text else "'"

    def replace(match: re.Match) -> str:
        found = match.group()
        stem, clitic = _CONTRACTIONS[" ".join(found.split()).lower()]
        contraction = stem + (" " if split_clitics else "") + clitic.replace("'", apostrophe)
        return carry_case(found, contraction)

    return CONTRACTIBLE.sub(replace, text)


class Contractions:
    """Expands or contracts English contractions."""

    def __init__(self, config: ContractionsConfig):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        if self.config.direction == "expand":
            return [expand(text) for text in texts]
        return [contract(text, self.config.split_clitics) for text in texts]


@hookimpl
def register_augmenters(register):
    register(PLUGIN, Contractions, config=ContractionsConfig,
             description="Expands contractions (\"don't\", tokenised \"do n't\" -> \"do not\") or contracts them")
