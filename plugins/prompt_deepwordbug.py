"""Attack `prompt-deepwordbug`: PromptBench's character-level adversarial prompt with DeepWordBug's edits (Gao et al.
2018): the task's instruction, word by word in order of importance, gets the neighbour swap, substitution, deletion
or insertion of one character that lowers the task score most (harness.greedy_word_attack)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from harness import PromptAttackOutcome, PromptAttackSettings, PromptScorer, StageEnvironment, TextGeneration, hookimpl


@dataclass(frozen=True)
class PromptDeepWordBugConfig(PromptAttackSettings):
    importance: Literal["unk", "delete"] = "unk"
    """How a word's importance is measured: the score with the word replaced by "[UNK]" (TextAttack's default for
    DeepWordBug) or deleted."""
    max_edit_distance: Optional[int] = 30
    """Characters changed in all, at most (PromptBench's Levenshtein constraint); None: no cap."""

    def __post_init__(self):
        if self.max_edit_distance is not None and self.max_edit_distance < 1:
            raise ValueError("max_edit_distance must be positive (or null for no cap)")


class PromptDeepWordBug:
    task_kinds = (TextGeneration.name,)
    """It attacks a generation task's instruction: other kinds refuse it at its suite line."""

    def __init__(self, config: PromptDeepWordBugConfig):
        self.config = config

    def attack_prompt(self, scorer: PromptScorer, env: StageEnvironment) -> PromptAttackOutcome:
        from harness import deepwordbug_candidates, greedy_word_attack

        return greedy_word_attack(scorer, deepwordbug_candidates, self.config.importance,
                                  self.config.max_edit_distance)


@hookimpl
def register_attacks(register):
    register("prompt-deepwordbug", PromptDeepWordBug, config=PromptDeepWordBugConfig,
             description="Adversarial prompt (PromptBench, character level): DeepWordBug's edits of the instruction")
