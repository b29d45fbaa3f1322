"""Task `xsum`: XSum extreme summarisation of BBC articles: a document in, its one-sentence summary as the reference,
scored by ROUGE-L.

From the Hugging Face hub (EdinburghNLP/xsum: 204,045 train / 11,332 validation / 11,334 test documents) by
default, or from a local copy with `path:`: a folder with one table per hub split, train / validation / test
(.jsonl, .json, .parquet, .csv, .tsv) with the hub's columns `document`, `summary` and `id`. Examples keep the
dataset's ids. Where the hub's copy is a loading script, which datasets 4 and later cannot run, pin
`revision: refs/convert/parquet` (the hub's parquet conversion, where it has one) or use `path:`.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import GenerationSourceTask, GenerationTaskSource, SummarisationTaskConfig, hookimpl

XSUM = GenerationTaskSource(name="xsum", title="XSum", hub_path="EdinburghNLP/xsum", input_field=("document",),
                            target_field=("summary",))


@dataclass(frozen=True)
class XsumConfig(SummarisationTaskConfig):
    """XSum summarisation: document -> one-sentence summary."""

    max_new_tokens: int = 64

    def task_source(self) -> GenerationTaskSource:
        return XSUM


@hookimpl
def register_tasks(register):
    register("xsum", GenerationSourceTask, config=XsumConfig,
             description="XSum one-sentence summarisation of BBC articles; hub EdinburghNLP/xsum, or local tables "
                         "(path:)")
