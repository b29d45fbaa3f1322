"""Attack `bae`: TextAttack's BAEGarg2019 recipe. BERT masked-LM word replacements (Garg & Ramakrishnan 2019).

Needs bert-base-uncased, the Universal Sentence Encoder and NLTK's POS tagger (downloads). Missing resources fail
`harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class BAEConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("bae", self)


class BAEAttack(TextAttackRecipe):
    recipe = "bae"


@hookimpl
def register_attacks(register):
    register("bae", BAEAttack, config=BAEConfig,
             description="BERT masked-LM word replacements (Garg & Ramakrishnan 2019)")
