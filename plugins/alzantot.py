"""Attack `alzantot`: TextAttack's GeneticAlgorithmAlzantot2018 recipe. Genetic-algorithm word swaps with a
language-model filter (Alzantot et al. 2018).

Needs the counter-fitted embeddings and Google's 1B-words language model (downloads). Missing resources fail `harness
validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class AlzantotConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("alzantot", self)


class AlzantotAttack(TextAttackRecipe):
    recipe = "alzantot"


@hookimpl
def register_attacks(register):
    register("alzantot", AlzantotAttack, config=AlzantotConfig,
             description="Genetic-algorithm word swaps with a language-model filter (Alzantot et al. 2018)")
