"""Attack `bad-characters`: TextAttack's BadCharacters2021 recipe. Imperceptible perturbations: homoglyphs, invisible
characters, reorderings, deletions (Boucher et al. 2021).

Needs TextAttack's homoglyph table, which the textattack 0.3.11 wheel lacks. Missing resources fail `harness validate`
with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class BadCharactersConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("bad-characters", self)


class BadCharactersAttack(TextAttackRecipe):
    recipe = "bad-characters"


@hookimpl
def register_attacks(register):
    register("bad-characters", BadCharactersAttack, config=BadCharactersConfig,
             description="Imperceptible perturbations: homoglyphs, invisible characters, reorderings, deletions "
                         "(Boucher et al. 2021)")
