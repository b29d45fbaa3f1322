"""Attack `hotflip`: TextAttack's HotFlipEbrahimi2017 recipe. TextAttack's HotFlip (Ebrahimi et al. 2018): LSTM/CNN
models only.

Always fails validation for transformers: TextAttack computes its gradients only for its own word-level models. Use
`gradient-swap`. Missing resources fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class HotFlipConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("hotflip", self)


class HotFlipAttack(TextAttackRecipe):
    recipe = "hotflip"


@hookimpl
def register_attacks(register):
    register("hotflip", HotFlipAttack, config=HotFlipConfig,
             description="TextAttack's HotFlip (Ebrahimi et al. 2018): LSTM/CNN models only")
