"""Attack `prompt-semantic`: PromptBench's semantic-level adversarial prompt: paraphrases of the instruction that a
person wrote (PromptBench's are its prompts translated from other languages); the one that lowers the task score
most is kept. The suite gives the paraphrases: they are the task's, and no offline model writes good ones."""

from __future__ import annotations

from dataclasses import dataclass

from harness import PromptAttackOutcome, PromptAttackSettings, PromptScorer, StageEnvironment, TextGeneration, hookimpl


@dataclass(frozen=True)
class PromptSemanticConfig(PromptAttackSettings):
    paraphrases: tuple[str, ...] = ()
    """Instructions that mean what the task's instruction means, worded otherwise (at least one)."""

    def __post_init__(self):
        if not self.paraphrases or not all(paraphrase.strip() for paraphrase in self.paraphrases):
            raise ValueError("paraphrases: give at least one paraphrase of the task's instruction (non-blank)")


class PromptSemantic:
    task_kinds = (TextGeneration.name,)
    """It attacks a generation task's instruction: other kinds refuse it at its suite line."""

    def __init__(self, config: PromptSemanticConfig):
        self.config = config

    def attack_prompt(self, scorer: PromptScorer, env: StageEnvironment) -> PromptAttackOutcome:
        from harness import best_instruction_attack

        return best_instruction_attack(scorer, self.config.paraphrases)


@hookimpl
def register_attacks(register):
    register("prompt-semantic", PromptSemantic, config=PromptSemanticConfig,
             description="Adversarial prompt (PromptBench, semantic level): the worst of given paraphrases")
