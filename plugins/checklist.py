"""Attack `checklist`: TextAttack's CheckList2020 recipe. CheckList invariance swaps: names, locations, numbers,
contractions (Ribeiro et al. 2020).

Needs flair's NER model (download). Missing resources fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class CheckListConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("checklist", self)


class CheckListAttack(TextAttackRecipe):
    recipe = "checklist"


@hookimpl
def register_attacks(register):
    register("checklist", CheckListAttack, config=CheckListConfig,
             description="CheckList invariance swaps: names, locations, numbers, contractions (Ribeiro et al. 2020)")
