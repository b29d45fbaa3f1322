"""Attack `textfooler-wordnet-sbert`: an offline variant of TextFooler (Jin et al. 2020). Not the published recipe.

How it differs from `textfooler`, and why: the published recipe swaps words for their nearest neighbours in
counter-fitted embeddings, filters swaps with NLTK's POS tagger, and keeps sentences the Universal Sentence Encoder
(TensorFlow Hub) finds similar. None of these can be had offline. This variant keeps TextFooler's search (greedy
by word importance, importance from deleting the word), its stopword and repeat constraints and its 15-word
similarity window, but
  - swaps words for WordNet synonyms (as PWWS does), which are POS-consistent by construction, so there is
    no POS filter;
  - measures sentence similarity with all-MiniLM-L6-v2 (sentence-transformers, packaged offline): cosine >= 0.877,
    the cosine equivalent of TextFooler's USE angular-similarity threshold 0.8408.
Numbers from this attack are not comparable with published TextFooler numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import RecipeConfig, TextAttackRecipe, check_recipe, hookimpl


@dataclass(frozen=True)
class TextFoolerWordNetSbertConfig(RecipeConfig):
    min_similarity: float = 0.877
    """Cosine similarity (MiniLM) the 15-word window around the swap must keep."""

    def __post_init__(self):
        super().__post_init__()
        check_recipe("textfooler-wordnet-sbert", self)


class TextFoolerWordNetSbertAttack(TextAttackRecipe):
    recipe = "textfooler-wordnet-sbert"

    def build(self, model_wrapper):
        import importlib.resources

        from textattack import Attack
        from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
        from textattack.constraints.semantics.sentence_encoders import SBERT
        from textattack.goal_functions import UntargetedClassification
        from textattack.search_methods import GreedyWordSwapWIR
        from textattack.transformations import WordSwapWordNet

        from harness import resolve_model_location

        # TextFooler's own stopword list, copied from textattack's recipe (building that recipe would download
        # the embeddings this variant exists to avoid).
        stopwords = set(importlib.resources.files("harness").joinpath("data", "textfooler-stopwords.txt")
                        .read_text(encoding="utf-8").split())
        transformation = WordSwapWordNet(language="eng")  # every synonym: WordNet offers few per word
        similarity = SBERT(model_name=resolve_model_location("minilm"), threshold=self.config.min_similarity,
                           metric="cosine", compare_against_original=False, window_size=15,
                           skip_text_shorter_than_window=True)
        constraints = [RepeatModification(), StopwordModification(stopwords=stopwords), similarity]
        return Attack(UntargetedClassification(model_wrapper), constraints, transformation,
                      GreedyWordSwapWIR(wir_method="delete"))


@hookimpl
def register_attacks(register):
    register("textfooler-wordnet-sbert", TextFoolerWordNetSbertAttack, config=TextFoolerWordNetSbertConfig,
             description="Offline TextFooler variant: WordNet swaps, MiniLM similarity (not the published recipe)")
