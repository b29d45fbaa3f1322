"""Task `iwslt2017`: IWSLT 2017 translation of TED talks (`source` -> `target`; default English to German), scored by
BLEU: between any two of English, Italian, Dutch and Romanian (the multilingual task), and between English and
Arabic, German, French, Japanese, Korean or Chinese.

From the Hugging Face hub (IWSLT/iwslt2017, config `iwslt2017-<source>-<target>`: en-de has 206,112 train / 888
validation / 8,079 test sentence pairs) by default, or from a local copy with `path:`: a folder with one table per
hub split, train / validation / test (.jsonl, .json, .parquet, .csv, .tsv), rows as the hub gives them
(`{"translation": {"en": "...", "de": "..."}}`, or the flat columns `translation.en`, `translation.de`). Where the
hub's copy is a loading script, which datasets 4 and later cannot run, pin `revision: refs/convert/parquet` (the
hub's parquet conversion, where it has one) or use `path:`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Collection

from harness import (
    GenerationSourceTask,
    GenerationTaskSource,
    TranslationTaskConfig,
    hookimpl,
    pairs_with_english,
    translation_source,
)

MULTILINGUAL = ("en", "it", "nl", "ro")
"""The multilingual task's languages: every ordered pair of them is a config."""
BILINGUAL = ("ar", "de", "fr", "ja", "ko", "zh")
"""The bilingual tasks' languages, each paired with English."""


@dataclass(frozen=True)
class IWSLT2017Config(TranslationTaskConfig):
    """IWSLT 2017 translation: any two of en, it, nl, ro, or English and ar, de, fr, ja, ko or zh."""

    target: str = "de"

    def language_pairs(self) -> Collection[tuple[str, str]]:
        return frozenset(permutations(MULTILINGUAL, 2)) | pairs_with_english(BILINGUAL)

    def task_source(self) -> GenerationTaskSource:
        return translation_source("iwslt2017", "IWSLT 2017", "IWSLT/iwslt2017",
                                  f"iwslt2017-{self.source}-{self.target}", self.source, self.target)


@hookimpl
def register_tasks(register):
    register("iwslt2017", GenerationSourceTask, config=IWSLT2017Config,
             description="IWSLT 2017 TED talk translation; hub IWSLT/iwslt2017, or local tables (path:)")
