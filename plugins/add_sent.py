"""Attack `add-sent`: an adversarial distractor sentence (AddSent, Jia & Liang 2017) added to each question's context.

For extractive question answering only. The sentence is made from the question with its numbers, names and some
words changed (WordNet antonyms), holding a fake answer of the answer's type ("Which NFL team represented the AFC at
Super Bowl 50?" -> "Chicago Bears represented the NFC at Champ Bowl 41."): it looks like the answer's sentence but
answers another question, so a reader that matches words instead of meaning answers from it. It never contains a
gold answer. No model queries (harness.kinds.qa.distractors says what this offline version does and does not do:
no parser, no crowd-fixed grammar). Reported: EM and F1 with and without it, their drop, and how often the answer
moved into the distractor (harness.kinds.qa.attacking).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, Sequence

from harness import QAExample, StageEnvironment, TaskData, hookimpl

PLUGIN = "add-sent"


@dataclass(frozen=True)
class AddSentConfig:
    position: Literal["end", "start", "random"] = "end"
    """Where the sentence goes: after the context's last sentence (the paper), before its first, or at a sentence
    boundary drawn per question."""
    attempts: int = 5
    """Draws (mutations and fake answers) tried per question before it is skipped."""

    def __post_init__(self):
        if self.position not in ("end", "start", "random"):
            raise ValueError(f"position must be end, start or random, got {self.position!r}")
        if self.attempts < 1:
            raise ValueError("attempts must be a positive integer")


class AddSentAttack:
    """Distractor sentences made from the questions (model-free)."""

    task_kinds = ("extractive-qa",)

    def __init__(self, config: AddSentConfig):
        self.config = config

    def insert_distractors(self, classifier, examples: Sequence[QAExample], task: TaskData, env: StageEnvironment):
        from harness import Distraction, DistractorPool, add_sent, insert_sentence

        # Fake answers and replacement names come from the training split, as a reader could have seen them.
        pool = DistractorPool.from_examples(task.train or examples)
        distractions = []
        for example in examples:
            rng = random.Random(f"{PLUGIN}:{env.seed}:{example.id}")
            made = add_sent(example, pool, rng, attempts=self.config.attempts)
            if made is None:
                distractions.append(Distraction(example.id, None, reason="no distractor without a gold answer in "
                                                                         f"{self.config.attempts} attempts"))
                continue
            attacked, inserted = insert_sentence(example, made.sentence, self.config.position, rng)
            distractions.append(Distraction(example.id, attacked, inserted, made.sentence, made.fake_answer))
        return distractions


@hookimpl
def register_attacks(register):
    register(PLUGIN, AddSentAttack, config=AddSentConfig,
             description="QA: an adversarial distractor sentence from the question, with a fake answer (AddSent)")
