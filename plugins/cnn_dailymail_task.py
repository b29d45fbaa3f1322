"""Task `cnn_dailymail`: CNN/DailyMail news summarisation (version 3.0.0, non-anonymised): an article in, its
highlights (bullet-point sentences, newline-separated) as the reference, scored by ROUGE-L.

From the Hugging Face hub (abisee/cnn_dailymail, config 3.0.0: 287,113 train / 13,368 validation / 11,490 test
articles) by default, or from a local copy with `path:`: a folder with one table per hub split, train / validation
/ test (.jsonl, .json, .parquet, .csv, .tsv) with the hub's columns `article`, `highlights` and `id`. Examples keep
the dataset's ids, from the hub and from the files alike. Articles are long: the prompt keeps the instruction and
cuts the article's end to fit the model's `max_length`.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import GenerationSourceTask, GenerationTaskSource, SummarisationTaskConfig, hookimpl

CNN_DAILYMAIL = GenerationTaskSource(
    name="cnn_dailymail", title="CNN/DailyMail 3.0.0", hub_path="abisee/cnn_dailymail", hub_config="3.0.0",
    input_field=("article",), target_field=("highlights",))


@dataclass(frozen=True)
class CnnDailymailConfig(SummarisationTaskConfig):
    """CNN/DailyMail summarisation: article -> highlights."""

    def task_source(self) -> GenerationTaskSource:
        return CNN_DAILYMAIL


@hookimpl
def register_tasks(register):
    register("cnn_dailymail", GenerationSourceTask, config=CnnDailymailConfig,
             description="CNN/DailyMail news summarisation; hub abisee/cnn_dailymail 3.0.0, or local tables (path:)")
