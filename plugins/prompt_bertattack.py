"""Attack `prompt-bertattack`: PromptBench's word-level adversarial prompt after BERT-Attack (Li et al. 2020): the
instruction's words, in order of importance ("[UNK]" in their place), swapped for the masked language model's word
at that place that lowers the task score most. `masked_lm` is downloaded from the hub (bert-base-uncased, as in
BERT-Attack and PromptBench) unless it names a local directory; no sentence-encoder constraint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness import PromptAttackOutcome, PromptAttackSettings, PromptScorer, StageEnvironment, TextGeneration, hookimpl


@dataclass(frozen=True)
class PromptBertAttackConfig(PromptAttackSettings):
    masked_lm: str = "bert-base-uncased"
    """The masked language model proposing words: a hub id or a local directory."""
    max_candidates: int = 48
    """Words tried per position (PromptBench's)."""
    importance: Literal["unk", "delete"] = "unk"

    def __post_init__(self):
        if self.max_candidates < 1:
            raise ValueError("max_candidates must be positive")
        if not self.masked_lm.strip():
            raise ValueError("masked_lm must name a masked language model (hub id or directory)")


class PromptBertAttack:
    task_kinds = (TextGeneration.name,)
    """It attacks a generation task's instruction: other kinds refuse it at its suite line."""

    def __init__(self, config: PromptBertAttackConfig):
        self.config = config

    def attack_prompt(self, scorer: PromptScorer, env: StageEnvironment) -> PromptAttackOutcome:
        from harness import MaskedWordCandidates, greedy_word_attack

        candidates = MaskedWordCandidates(self.config.masked_lm, self.config.max_candidates, env.device)
        return greedy_word_attack(scorer, candidates, self.config.importance, in_context=True)


@hookimpl
def register_attacks(register):
    register("prompt-bertattack", PromptBertAttack, config=PromptBertAttackConfig,
             description="Adversarial prompt (PromptBench, word level): a masked LM's words in the instruction")
