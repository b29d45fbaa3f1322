"""Attack `deepwordbug`: TextAttack's DeepWordBug recipe (Gao et al. 2018), character edits on important words.

Runs offline (no embeddings or language models). Queries go through the harness predictor.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class DeepWordBugConfig(RecipeConfig):
    use_all_transformations: bool = True
    """All four character edits (swap, substitute, delete, insert) as in the paper; False = swaps only."""

    def __post_init__(self):
        super().__post_init__()
        check_recipe("deepwordbug", self)


class DeepWordBugAttack(TextAttackRecipe):
    recipe = "deepwordbug"

    def build(self, model_wrapper):
        from textattack.attack_recipes import DeepWordBugGao2018

        return DeepWordBugGao2018.build(model_wrapper, use_all_transformations=self.config.use_all_transformations)


@hookimpl
def register_attacks(register):
    register("deepwordbug", DeepWordBugAttack, config=DeepWordBugConfig,
             description="TextAttack DeepWordBug: greedy character edits on the most important words (offline)")
