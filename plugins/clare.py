"""Attack `clare`: TextAttack's CLARE2020 recipe. Contextualised replace/insert/merge with a masked LM (Li et al. 2021).

Needs distilroberta-base and the Universal Sentence Encoder (downloads). Missing resources fail `harness validate` with
what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class CLAREConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("clare", self)


class CLAREAttack(TextAttackRecipe):
    recipe = "clare"


@hookimpl
def register_attacks(register):
    register("clare", CLAREAttack, config=CLAREConfig,
             description="Contextualised replace/insert/merge with a masked LM (Li et al. 2021)")
