"""Augmenter `number-to-words`: writes integers from 0 to 999,999,999 as English words ("42" -> "forty-two").

What changes in the text:
- A number is a run of digits ("42", "2024"), or digits grouped in threes by commas ("1,000", "12,345,678"),
  that stands on its own: not right after a letter, digit, underscore or full stop, nor after a comma that follows
  a digit, and not right before a letter, digit, underscore, or a full stop or comma followed by a digit. So
  "I have 42 cats and 1,000 dogs" -> "I have forty-two cats and one thousand dogs"; "3.5", ".5", "1,00",
  "1,0000", "v2", "90s", "abc123" and "4pm" are left alone. Surrounding punctuation and symbols stay ("$5," ->
  "$five,", "-3" -> "-three", "covid-19" -> "covid-nineteen", "42." -> "forty-two.", "(7)" -> "(seven)").
- Only values 0 to 999,999,999 change; larger numbers, and numbers with a leading zero ("007", "0800"), stay.
- Words are lower case, American style: no "and" ("101" -> "one hundred one"), hyphens from twenty-one to
  ninety-nine ("1,999" -> "one thousand nine hundred ninety-nine"); years are read as plain numbers
  ("2024" -> "two thousand twenty-four").
- also_ordinals = True also writes ordinals given as a number with its correct English suffix (st, nd, rd, th,
  in any case): "1st" -> "first", "22nd" -> "twenty-second", "13th" -> "thirteenth", "100th" -> "one
  hundredth"; a wrong suffix ("1th") stays as it is. With False, ordinals are left alone.
Deterministic: the seed is not used. Texts without such a number come back unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from harness import PairTargetSetting, StageEnvironment, hookimpl

PLUGIN = "number-to-words"

LARGEST = 999_999_999

ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
SCALES = ((1_000_000, "million"), (1_000, "thousand"))
IRREGULAR_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                      "nine": "ninth", "twelve": "twelfth"}

_DIGITS = r"(?:[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*|0)"
# Not part of a word, nor of a decimal ("3.5", ".5") or of a malformed group ("1,0000").
_BEFORE = r"(?<![\w.])(?<!\d,)"
_AFTER = r"(?!\w|[.,]\d)"
NUMBER = re.compile(rf"{_BEFORE}{_DIGITS}{_AFTER}")
NUMBER_OR_ORDINAL = re.compile(rf"{_BEFORE}{_DIGITS}(?P<suffix>st|nd|rd|th)?{_AFTER}", re.IGNORECASE)


@dataclass(frozen=True)
class NumberToWordsConfig(PairTargetSetting):
    also_ordinals: bool = False
    """Also write ordinals such as "1st", "22nd", "100th" as words ("first", "twenty-second", "one hundredth")."""

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.also_ordinals, bool):
            raise ValueError(f"also_ordinals must be true or false, got {self.also_ordinals!r}")


def _below_thousand(number: int) -> list[str]:
    words = []
    hundreds, rest = divmod(number, 100)
    if hundreds:
        words += [ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(TENS[tens] + (f"-{ONES[ones]}" if ones else ""))
    elif rest:
        words.append(ONES[rest])
    return words


def number_words(number: int) -> str:
    """English words for 0 <= number <= 999,999,999: 42 -> "forty-two", 1000 -> "one thousand"."""
    if not 0 <= number <= LARGEST:
        raise ValueError(f"number must be in [0, {LARGEST}], got {number}")
    if number == 0:
        return "zero"
    words = []
    for scale, name in SCALES:
        count, number = divmod(number, scale)
        if count:
            words += [*_below_thousand(count), name]
    words += _below_thousand(number)
    return " ".join(words)


def ordinal_words(number: int) -> str:
    """English ordinal words: 1 -> "first", 22 -> "twenty-second", 100 -> "one hundredth"."""
    cardinal = number_words(number)
    head, separator, last = max(cardinal.rpartition(" "), cardinal.rpartition("-"), key=lambda parts: len(parts[0]))
    if last in IRREGULAR_ORDINALS:
        last = IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + separator + last


def ordinal_suffix(number: int) -> str:
    if number % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def _replace(match: re.Match) -> str:
    suffix = match.groupdict().get("suffix")
    digits = match.group()[: len(match.group()) - len(suffix or "")]
    number = int(digits.replace(",", ""))
    if number > LARGEST:
        return match.group()
    if suffix is None:
        return number_words(number)
    if suffix.lower() != ordinal_suffix(number):
        return match.group()
    return ordinal_words(number)


class NumberToWords:
    """Writes integers (and optionally ordinals) as English words."""

    def __init__(self, config: NumberToWordsConfig):
        self.config = config
        self.pattern = NUMBER_OR_ORDINAL if config.also_ordinals else NUMBER

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        return [self.pattern.sub(_replace, text) if any(c.isdigit() for c in text) else text for text in texts]


@hookimpl
def register_augmenters(register):
    register(PLUGIN, NumberToWords, config=NumberToWordsConfig,
             description="Writes integers from 0 to 999,999,999 as English words (\"42\" -> \"forty-two\")")
