"""Attack `pso`: TextAttack's PSOZang2020 recipe. Particle-swarm search over HowNet sememe swaps (Zang et al. 2020).

Needs HowNet data from OpenHowNet (download). Missing resources fail `harness validate` with what is needed and how to
get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class PSOConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("pso", self)


class PSOAttack(TextAttackRecipe):
    recipe = "pso"


@hookimpl
def register_attacks(register):
    register("pso", PSOAttack, config=PSOConfig,
             description="Particle-swarm search over HowNet sememe swaps (Zang et al. 2020)")
