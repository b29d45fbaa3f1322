"""Task `sst5`: SST-5, fine-grained (5-class) sentiment of movie-review sentences.

From the Hugging Face hub (SetFit/sst5: text, label 0-4, label_text) by default, or from a local copy with
`path:`: one file per split (train, validation or dev, test; .jsonl, .json, .csv, .tsv or .parquet) with the
columns text and label (an index 0-4 or a label name). The hub's train / validation / test splits are the task's.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TaskSource, TaskSourceConfig, hookimpl, source_task

SOURCE = TaskSource(
    name="sst5", title="SST-5", hub_path="SetFit/sst5", hub_config=None,
    label_names=("very negative", "negative", "neutral", "positive", "very positive"), text_columns=("text",),
    file_aliases={"validation": ("dev",)})


@dataclass(frozen=True)
class Sst5Config(TaskSourceConfig):
    """Where the SST-5 data comes from: `path` (local files) or the hub. SST-5 has its own validation split."""


@hookimpl
def register_tasks(register):
    register("sst5", source_task(SOURCE), config=Sst5Config,
             description="SST-5: 5-class sentiment of movie-review sentences; hub SetFit/sst5, or local files (path:)")
