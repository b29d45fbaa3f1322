"""Attack `kuleshov`: TextAttack's Kuleshov2017 recipe. Greedy embedding swaps with a GPT-2 fluency filter (Kuleshov et
al. 2018).

Needs the counter-fitted embeddings and gpt2 (downloads). Missing resources fail `harness validate` with what is needed
and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class KuleshovConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("kuleshov", self)


class KuleshovAttack(TextAttackRecipe):
    recipe = "kuleshov"


@hookimpl
def register_attacks(register):
    register("kuleshov", KuleshovAttack, config=KuleshovConfig,
             description="Greedy embedding swaps with a GPT-2 fluency filter (Kuleshov et al. 2018)")
