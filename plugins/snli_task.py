"""Task `snli`: SNLI, (premise, hypothesis) pairs labelled entailment, neutral or contradiction.

From the Hugging Face hub (stanfordnlp/snli) by default, or from a local copy with `path:`: SNLI's own
distribution (snli_1.0_train/dev/test as .jsonl or tab-separated .txt, columns sentence1, sentence2, gold_label)
or one file per split with the hub's columns (premise, hypothesis, label). The hub's train / validation / test
splits are the task's. Pairs without a gold label (-1 on the hub, "-" in SNLI's files: the annotators did not
agree) are dropped, as is standard.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TaskSource, TaskSourceConfig, hookimpl, source_task

SOURCE = TaskSource(
    name="snli", title="SNLI", hub_path="stanfordnlp/snli", hub_config=None,
    label_names=("entailment", "neutral", "contradiction"), text_columns=("premise", "hypothesis"),
    file_aliases={"train": ("snli_1.0_train", "snli_1.0_train.txt"),
                  "validation": ("dev", "snli_1.0_dev", "snli_1.0_dev.txt"),
                  "test": ("snli_1.0_test", "snli_1.0_test.txt")},
    column_aliases={"sentence1": "premise", "sentence2": "hypothesis", "gold_label": "label"},
    drop_unlabelled=True, notes="pairs without a gold label dropped")


@dataclass(frozen=True)
class SnliConfig(TaskSourceConfig):
    """Where the SNLI data comes from: `path` (local files) or the hub. SNLI has its own validation split."""


@hookimpl
def register_tasks(register):
    register("snli", source_task(SOURCE), config=SnliConfig,
             description="SNLI: 3-way entailment on (premise, hypothesis) pairs; hub stanfordnlp/snli, or local "
                         "files (path:)")
