"""Attack `iga`: TextAttack's IGAWang2019 recipe. Improved genetic algorithm over embedding swaps (Wang et al. 2019).

Needs the counter-fitted embeddings (download). Missing resources fail `harness validate` with what is needed and how to
get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class IGAConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("iga", self)


class IGAAttack(TextAttackRecipe):
    recipe = "iga"


@hookimpl
def register_attacks(register):
    register("iga", IGAAttack, config=IGAConfig,
             description="Improved genetic algorithm over embedding swaps (Wang et al. 2019)")
