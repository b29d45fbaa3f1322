"""Attack `deepwordbug`: TextAttack's DeepWordBug recipe (Gao et al. 2018), character edits on important words.

Runs offline (no embeddings or language models). Queries go through the harness predictor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from harness import AttackOutcome, Classifier, Example, StageEnvironment, hookimpl


@dataclass(frozen=True)
class DeepWordBugConfig:
    query_budget: Optional[int] = None
    """Stop attacking an example after this many model queries (TextAttack's query_budget); None = no cap."""
    use_all_transformations: bool = True
    """All four character edits (swap, substitute, delete, insert) as in the paper; False = swaps only."""

    def __post_init__(self):
        if self.query_budget is not None and self.query_budget < 1:
            raise ValueError("query_budget must be positive")


class DeepWordBugAttack:
    def __init__(self, config: DeepWordBugConfig):
        self.config = config

    def attack(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> AttackOutcome:
        from harness import run_textattack_attack

        wrapper = classifier.predictor.textattack_wrapper()  # first: prepares NLTK data textattack's import needs
        from textattack.attack_recipes import DeepWordBugGao2018

        attack = DeepWordBugGao2018.build(wrapper, use_all_transformations=self.config.use_all_transformations)
        if self.config.query_budget is not None:
            attack.goal_function.query_budget = self.config.query_budget
        return run_textattack_attack(attack, classifier, examples, env)


@hookimpl
def register_attacks(register):
    register("deepwordbug", DeepWordBugAttack, config=DeepWordBugConfig,
             description="TextAttack DeepWordBug: greedy character edits on the most important words (offline)")
