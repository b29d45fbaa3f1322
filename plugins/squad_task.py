"""Task `squad`: SQuAD 1.1, extractive question answering on Wikipedia paragraphs (every question has an answer).

From the Hugging Face hub (rajpurkar/squad: train 87,599 / validation 10,570 questions) by default, or from a local
copy with `path:`: a folder with SQuAD's own files, train-v1.1.json and dev-v1.1.json, or one file per hub split
(train, validation: .json in SQuAD's layout, or .jsonl / .csv / .tsv tables). SQuAD's test set is hidden: the task's
test split is SQuAD's dev set, and its validation split is held out of train (`validation_fraction`). Examples keep
SQuAD's ids, from the hub and from the files alike.
"""

from __future__ import annotations

from harness import ExtractiveQA, QATaskSource, StageEnvironment, TaskData, TaskSourceConfig, hookimpl, load_qa_task

SQUAD = QATaskSource(
    name="squad", title="SQuAD 1.1", hub_path="rajpurkar/squad",
    squad_files={"train": ("train-v1.1.json",), "test": ("dev-v1.1.json",)},
    notes="test = SQuAD's dev set (its test set is hidden)")


class SquadTask:
    task_kind = ExtractiveQA.name
    """The kind of the TaskData it loads: `harness validate` checks the suite against it before any data loads."""

    def __init__(self, config: TaskSourceConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        return load_qa_task(SQUAD, self.config)

    def hub_downloads(self) -> tuple[str, ...]:
        return self.config.hub_downloads_for(SQUAD.hub_path, SQUAD.hub_config)


@hookimpl
def register_tasks(register):
    register("squad", SquadTask, config=TaskSourceConfig,
             description="SQuAD 1.1 extractive question answering; hub rajpurkar/squad, or local SQuAD JSON (path:)")
