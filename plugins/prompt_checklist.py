"""Attack `prompt-checklist`: PromptBench's sentence-level adversarial prompt after CheckList (Ribeiro et al. 2020):
random sequences of letters and digits (seeded by the cell's seed) appended to the instruction as a word; the one
that lowers the task score most is kept."""

from __future__ import annotations

from dataclasses import dataclass

from harness import PromptAttackOutcome, PromptAttackSettings, PromptScorer, StageEnvironment, TextGeneration, hookimpl


@dataclass(frozen=True)
class PromptCheckListConfig(PromptAttackSettings):
    sequences: int = 50
    """Random sequences tried (PromptBench ships 50)."""
    length: int = 10
    """Characters per sequence."""

    def __post_init__(self):
        if self.sequences < 1 or self.length < 1:
            raise ValueError("sequences and length must be positive")


class PromptCheckList:
    task_kinds = (TextGeneration.name,)
    """It attacks a generation task's instruction: other kinds refuse it at its suite line."""

    def __init__(self, config: PromptCheckListConfig):
        self.config = config

    def attack_prompt(self, scorer: PromptScorer, env: StageEnvironment) -> PromptAttackOutcome:
        from harness import best_suffix_attack, checklist_suffixes

        return best_suffix_attack(scorer, checklist_suffixes(self.config.sequences, scorer.seed, self.config.length))


@hookimpl
def register_attacks(register):
    register("prompt-checklist", PromptCheckList, config=PromptCheckListConfig,
             description="Adversarial prompt (PromptBench, sentence level): random sequences appended to the "
                         "instruction")
