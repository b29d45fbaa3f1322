"""Attack `leap`: TextAttack's LEAP2023 recipe. LEAP: particle-swarm search over WordNet synonyms (Ye et al. 2023).

Runs offline with WordNet from Debian. Missing resources fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class LEAPConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("leap", self)


class LEAPAttack(TextAttackRecipe):
    recipe = "leap"


@hookimpl
def register_attacks(register):
    register("leap", LEAPAttack, config=LEAPConfig,
             description="LEAP: particle-swarm search over WordNet synonyms (Ye et al. 2023)")
