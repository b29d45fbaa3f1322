"""Attack `prompt-textbugger`: PromptBench's character-level adversarial prompt with TextBugger's bugs (Li et al. 2019):
a space inserted, a character deleted or two swapped inside a word, look-alike characters, or one of the word's
synonyms (WordNet offline, where TextBugger's embeddings need a download), greedily by word importance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness import PromptAttackOutcome, PromptAttackSettings, PromptScorer, StageEnvironment, TextGeneration, hookimpl


@dataclass(frozen=True)
class PromptTextBuggerConfig(PromptAttackSettings):
    importance: Literal["delete", "unk"] = "delete"
    synonyms: int = 5
    """Synonym candidates per word (PromptBench's max_candidates)."""

    def __post_init__(self):
        if self.synonyms < 0:
            raise ValueError("synonyms must be 0 or more")


class PromptTextBugger:
    task_kinds = (TextGeneration.name,)
    """It attacks a generation task's instruction: other kinds refuse it at its suite line."""

    def __init__(self, config: PromptTextBuggerConfig):
        self.config = config

    def attack_prompt(self, scorer: PromptScorer, env: StageEnvironment) -> PromptAttackOutcome:
        from harness import greedy_word_attack, textbugger_candidates

        return greedy_word_attack(scorer, lambda word, rng: textbugger_candidates(word, rng, self.config.synonyms),
                                  self.config.importance)


@hookimpl
def register_attacks(register):
    register("prompt-textbugger", PromptTextBugger, config=PromptTextBuggerConfig,
             description="Adversarial prompt (PromptBench, character level): TextBugger's bugs in the instruction")
