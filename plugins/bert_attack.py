"""Attack `bert-attack`: TextAttack's BERTAttackLi2020 recipe. BERT masked-LM substitutions of important words (Li et
al. 2020).

Needs bert-base-uncased and the Universal Sentence Encoder (downloads). Missing resources fail `harness validate` with
what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class BERTAttackConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("bert-attack", self)


class BERTAttackAttack(TextAttackRecipe):
    recipe = "bert-attack"


@hookimpl
def register_attacks(register):
    register("bert-attack", BERTAttackAttack, config=BERTAttackConfig,
             description="BERT masked-LM substitutions of important words (Li et al. 2020)")
