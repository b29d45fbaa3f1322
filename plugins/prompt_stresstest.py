"""Attack `prompt-stresstest`: PromptBench's sentence-level adversarial prompt after StressTest (Naik et al. 2018):
tautologies appended to the instruction (" and true is true ", " and false is not true ", the first five times);
the one that lowers the task score most is kept."""

from __future__ import annotations

from dataclasses import dataclass

from harness import (
    STRESS_TEST_SUFFIXES,
    PromptAttackOutcome,
    PromptAttackSettings,
    PromptScorer,
    StageEnvironment,
    TextGeneration,
    hookimpl,
)


@dataclass(frozen=True)
class PromptStressTestConfig(PromptAttackSettings):
    suffixes: tuple[str, ...] = STRESS_TEST_SUFFIXES
    """What is appended after the instruction's last word, one at a time."""

    def __post_init__(self):
        if not self.suffixes or not all(suffix.strip() for suffix in self.suffixes):
            raise ValueError("suffixes must be a non-empty list of non-blank texts")


class PromptStressTest:
    task_kinds = (TextGeneration.name,)
    """It attacks a generation task's instruction: other kinds refuse it at its suite line."""

    def __init__(self, config: PromptStressTestConfig):
        self.config = config

    def attack_prompt(self, scorer: PromptScorer, env: StageEnvironment) -> PromptAttackOutcome:
        from harness import best_suffix_attack

        return best_suffix_attack(scorer, self.config.suffixes)


@hookimpl
def register_attacks(register):
    register("prompt-stresstest", PromptStressTest, config=PromptStressTestConfig,
             description="Adversarial prompt (PromptBench, sentence level): tautologies appended to the instruction")
