"""Attack `a2t`: TextAttack's A2TYoo2021 recipe. A2T: cheap word-embedding swaps for adversarial training (Yoo & Qi
2021).

Needs the counter-fitted embeddings, a sentence-transformers model and NLTK's POS tagger (downloads). Missing resources
fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class A2TConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("a2t", self)


class A2TAttack(TextAttackRecipe):
    recipe = "a2t"


@hookimpl
def register_attacks(register):
    register("a2t", A2TAttack, config=A2TConfig,
             description="A2T: cheap word-embedding swaps for adversarial training (Yoo & Qi 2021)")
