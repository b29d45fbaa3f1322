"""Attack `textbugger`: TextAttack's TextBuggerLi2018 recipe. Character and word bugs on important words (Li et al.
2019).

Needs the counter-fitted embeddings, the Universal Sentence Encoder and TextAttack's homoglyph table (missing from the
0.3.11 wheel). Missing resources fail `harness validate` with what is needed and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class TextBuggerConfig(RecipeConfig):
    def __post_init__(self):
        super().__post_init__()
        check_recipe("textbugger", self)


class TextBuggerAttack(TextAttackRecipe):
    recipe = "textbugger"


@hookimpl
def register_attacks(register):
    register("textbugger", TextBuggerAttack, config=TextBuggerConfig,
             description="Character and word bugs on important words (Li et al. 2019)")
