"""Attack `prompt-textfooler`: PromptBench's word-level adversarial prompt after TextFooler (Jin et al. 2020): the
instruction's words, in order of importance, swapped for the synonym that lowers the task score most. Offline
variant: WordNet synonyms instead of TextFooler's counter-fitted embeddings (a download), and no sentence-encoder
constraint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness import PromptAttackOutcome, PromptAttackSettings, PromptScorer, StageEnvironment, TextGeneration, hookimpl


@dataclass(frozen=True)
class PromptTextFoolerConfig(PromptAttackSettings):
    importance: Literal["delete", "unk"] = "delete"
    max_candidates: int = 50
    """Synonyms tried per word (PromptBench's)."""

    def __post_init__(self):
        if self.max_candidates < 1:
            raise ValueError("max_candidates must be positive")


class PromptTextFooler:
    task_kinds = (TextGeneration.name,)
    """It attacks a generation task's instruction: other kinds refuse it at its suite line."""

    def __init__(self, config: PromptTextFoolerConfig):
        self.config = config

    def attack_prompt(self, scorer: PromptScorer, env: StageEnvironment) -> PromptAttackOutcome:
        from harness import greedy_word_attack, synonym_candidates

        return greedy_word_attack(scorer, lambda word, rng: synonym_candidates(word, rng, self.config.max_candidates),
                                  self.config.importance)


@hookimpl
def register_attacks(register):
    register("prompt-textfooler", PromptTextFooler, config=PromptTextFoolerConfig,
             description="Adversarial prompt (PromptBench, word level): synonyms in the instruction (WordNet)")
