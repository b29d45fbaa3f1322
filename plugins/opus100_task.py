"""Task `opus100`: OPUS-100 translation between English and one of 99 languages (`source` -> `target`; default English
to German), scored by BLEU.

From the Hugging Face hub (Helsinki-NLP/opus-100, config `<a>-<b>`, the two codes in alphabetical order: de-en,
en-fr; most pairs have up to 1,000,000 train / 2,000 validation / 2,000 test sentence pairs) by default, or from a
local copy with `path:`: a folder with one table per hub split, train / validation / test (.jsonl, .json, .parquet,
.csv, .tsv), rows as the hub gives them (`{"translation": {"de": "...", "en": "..."}}`, or the flat columns
`translation.de`, `translation.en`). A pair without a validation split holds out `validation_fraction` of train.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection

from harness import (
    GenerationSourceTask,
    GenerationTaskSource,
    TranslationTaskConfig,
    hookimpl,
    pairs_with_english,
    translation_source,
)

OPUS100_LANGUAGES = (
    "af am an ar as az be bg bn br bs ca cs cy da de dz el eo es et eu fa fi fr fy ga gd gl gu ha he hi hr hu hy id "
    "ig is it ja ka kk km kn ko ku ky li lt lv mg mk ml mn mr ms mt my nb ne nl nn no oc or pa pl ps pt ro ru rw se "
    "sh si sk sl sq sr sv ta te tg th tk tr tt ug uk ur uz vi wa xh yi yo zh zu").split()
"""The languages OPUS-100 pairs with English (its pairs without English have a test split only: no task)."""


@dataclass(frozen=True)
class Opus100Config(TranslationTaskConfig):
    """OPUS-100 translation between English and one of its 99 other languages, either way."""

    target: str = "de"

    def language_pairs(self) -> Collection[tuple[str, str]]:
        return pairs_with_english(OPUS100_LANGUAGES)

    def task_source(self) -> GenerationTaskSource:
        return translation_source("opus100", "OPUS-100", "Helsinki-NLP/opus-100",
                                  "-".join(sorted((self.source, self.target))), self.source, self.target)


@hookimpl
def register_tasks(register):
    register("opus100", GenerationSourceTask, config=Opus100Config,
             description="OPUS-100 translation between English and 99 languages; hub Helsinki-NLP/opus-100, or "
                         "local tables (path:)")
