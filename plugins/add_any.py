"""Attack `add-any`: a distractor of a few words found by a search against the model (AddAny, Jia & Liang 2017).

For extractive question answering only. Each question gets `words` words added to its context, chosen position by
position among `candidates` words (the task's most frequent context words and the question's words) to lower the
model's probability of the gold answer span, for up to `sweeps` passes or until the answer leaves the gold span
(harness.kinds.qa.add_any). Unanswerable questions are skipped (no gold span to lower). Costs
words x candidates x sweeps model inputs per question at most: the defaults (10 x 20 x 2) are the paper's but one
sweep fewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harness import AddAnySettings, QAExample, StageEnvironment, TaskData, hookimpl

PLUGIN = "add-any"


@dataclass(frozen=True)
class AddAnyConfig(AddAnySettings):
    """The search's settings (harness.AddAnySettings): words, candidates, sweeps, vocabulary_size, position."""


class AddAnyAttack:
    """Word-sequence distractors searched against the model's gold-span probability."""

    task_kinds = ("extractive-qa",)

    def __init__(self, config: AddAnyConfig):
        self.config = config

    def insert_distractors(self, classifier, examples: Sequence[QAExample], task: TaskData, env: StageEnvironment):
        from harness import add_any, common_words

        settings = self.config
        vocabulary = common_words([*task.train, *examples], settings.vocabulary_size)
        bar = env.progress(total=len(examples), desc=PLUGIN, unit="question")
        try:
            return add_any(classifier, examples, vocabulary, settings, env.seed, progress=bar)
        finally:
            bar.close()


@hookimpl
def register_attacks(register):
    register(PLUGIN, AddAnyAttack, config=AddAnyConfig,
             description="QA: a few words searched to lower the gold answer's probability (AddAny)")
