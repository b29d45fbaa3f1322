"""Attack `input-reduction`: TextAttack's InputReductionFeng2018 recipe. Input reduction: delete words while the
prediction holds (Feng et al. 2018).

Runs offline. Its goal differs from the other attacks: a "successful" result keeps the prediction while
dropping words (how few words the model needs), so its success rate measures reducibility, not vulnerability.
Missing resources fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class InputReductionConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("input-reduction", self)


class InputReductionAttack(TextAttackRecipe):
    recipe = "input-reduction"


@hookimpl
def register_attacks(register):
    register("input-reduction", InputReductionAttack, config=InputReductionConfig,
             description="Input reduction: delete words while the prediction holds (Feng et al. 2018)")
