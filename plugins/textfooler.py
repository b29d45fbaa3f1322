"""Attack `textfooler`: TextAttack's TextFoolerJin2019 recipe. Counter-fitted embedding swaps under USE similarity and
POS constraints (Jin et al. 2020).

Needs the counter-fitted embeddings, the Universal Sentence Encoder and NLTK's POS tagger (downloads). Offline:
`textfooler-wordnet-sbert`. Missing resources fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class TextFoolerConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("textfooler", self)


class TextFoolerAttack(TextAttackRecipe):
    recipe = "textfooler"


@hookimpl
def register_attacks(register):
    register("textfooler", TextFoolerAttack, config=TextFoolerConfig,
             description="Counter-fitted embedding swaps under USE similarity and POS constraints (Jin et al. 2020)")
