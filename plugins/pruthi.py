"""Attack `pruthi`: TextAttack's Pruthi2019 recipe. Keyboard typos and character edits on few words (Pruthi et al.
2019).

Runs offline. Missing resources fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class PruthiConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("pruthi", self)


class PruthiAttack(TextAttackRecipe):
    recipe = "pruthi"


@hookimpl
def register_attacks(register):
    register("pruthi", PruthiAttack, config=PruthiConfig,
             description="Keyboard typos and character edits on few words (Pruthi et al. 2019)")
