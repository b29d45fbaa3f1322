"""Task `wmt16`: the WMT16 news translation task, between English and Czech, German, Finnish, Romanian, Russian or
Turkish (`source` -> `target`; default English to Romanian, as T5 was trained), scored by BLEU.

From the Hugging Face hub (wmt/wmt16, config `<language>-en`: ro-en has 610,320 train / 1,999 validation / 1,999
test sentence pairs) by default, or from a local copy with `path:`: a folder with one table per hub split,
train / validation / test (.jsonl, .json, .parquet, .csv, .tsv), rows as the hub gives them
(`{"translation": {"en": "...", "ro": "..."}}`, or the flat columns `translation.en`, `translation.ro`). Examples are
numbered by row (`test-1`, ...), the same from the hub and from a copy written from it.
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

WMT16_LANGUAGES = ("cs", "de", "fi", "ro", "ru", "tr")
"""The languages WMT16 pairs with English (its hub configs are `<language>-en`)."""


@dataclass(frozen=True)
class WMT16Config(TranslationTaskConfig):
    """WMT16 translation between English and cs, de, fi, ro, ru or tr, either way."""

    def language_pairs(self) -> Collection[tuple[str, str]]:
        return pairs_with_english(WMT16_LANGUAGES)

    def task_source(self) -> GenerationTaskSource:
        other = self.target if self.source == "en" else self.source
        return translation_source("wmt16", "WMT16", "wmt/wmt16", f"{other}-en", self.source, self.target)


@hookimpl
def register_tasks(register):
    register("wmt16", GenerationSourceTask, config=WMT16Config,
             description="WMT16 news translation (en<->cs/de/fi/ro/ru/tr); hub wmt/wmt16, or local tables (path:)")
