"""Attack `faster-alzantot`: TextAttack's FasterGeneticAlgorithmJia2019 recipe. Faster genetic-algorithm attack (Jia et
al. 2019).

Needs the counter-fitted embeddings and the learning-to-write language model (downloads). Missing resources fail
`harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class FasterAlzantotConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("faster-alzantot", self)


class FasterAlzantotAttack(TextAttackRecipe):
    recipe = "faster-alzantot"


@hookimpl
def register_attacks(register):
    register("faster-alzantot", FasterAlzantotAttack, config=FasterAlzantotConfig,
             description="Faster genetic-algorithm attack (Jia et al. 2019)")
