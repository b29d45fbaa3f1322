"""Task `squad_v2`: SQuAD 2.0, extractive question answering on Wikipedia paragraphs, a third of whose questions the
paragraph does not answer (a model must abstain: answer "").

From the Hugging Face hub (rajpurkar/squad_v2: train 130,319 / validation 11,873 questions) by default, or from a
local copy with `path:`: a folder with SQuAD's own files, train-v2.0.json and dev-v2.0.json, or one file per hub
split (train, validation: .json in SQuAD's layout, or .jsonl / .csv / .tsv tables; a blank answer is unanswerable).
SQuAD's test set is hidden: the task's test split is SQuAD's dev set, and its validation split is held out of train
(`validation_fraction`). Examples keep SQuAD's ids, from the hub and from the files alike.
"""

from __future__ import annotations

from harness import ExtractiveQA, QATaskSource, StageEnvironment, TaskData, TaskSourceConfig, hookimpl, load_qa_task

SQUAD_V2 = QATaskSource(
    name="squad_v2", title="SQuAD 2.0", hub_path="rajpurkar/squad_v2",
    squad_files={"train": ("train-v2.0.json",), "test": ("dev-v2.0.json",)},
    notes="test = SQuAD's dev set (its test set is hidden)")


class SquadV2Task:
    task_kind = ExtractiveQA.name
    """The kind of the TaskData it loads: `harness validate` checks the suite against it before any data loads."""

    def __init__(self, config: TaskSourceConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        return load_qa_task(SQUAD_V2, self.config)

    def hub_downloads(self) -> tuple[str, ...]:
        return self.config.hub_downloads_for(SQUAD_V2.hub_path, SQUAD_V2.hub_config)


@hookimpl
def register_tasks(register):
    register("squad_v2", SquadV2Task, config=TaskSourceConfig,
             description="SQuAD 2.0 extractive question answering with unanswerable questions; hub "
                         "rajpurkar/squad_v2, or local SQuAD JSON (path:)")
