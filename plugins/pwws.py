"""Attack `pwws`: TextAttack's PWWSRen2019 recipe. Probability-weighted word saliency with WordNet synonyms (Ren et al.
2019).

Runs offline with WordNet from Debian. Missing resources fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class PWWSConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("pwws", self)


class PWWSAttack(TextAttackRecipe):
    recipe = "pwws"


@hookimpl
def register_attacks(register):
    register("pwws", PWWSAttack, config=PWWSConfig,
             description="Probability-weighted word saliency with WordNet synonyms (Ren et al. 2019)")
