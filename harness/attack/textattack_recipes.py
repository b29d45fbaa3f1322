"""TextAttack recipes as harness attacks: what each needs, a check that runs at `harness validate`, and the build.

Importing this module is cheap (no textattack): attack plugins subclass `RecipeConfig` and `TextAttackRecipe`
at import time; textattack is imported only when an attack runs.

Each recipe declares the resources it needs. A resource that is neither on this machine nor downloadable (no
network) makes the recipe's config fail validation with what is missing and how to get it, instead of failing
midway through a run. TextAttack itself is the first such resource: it is an optional extra (textattack 0.3.11
imports flair, which needs transformers<5), so without it every recipe and TextAttack augmenter is refused at its
suite line and listed as unavailable by `harness plugins` and `harness doctor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional, Sequence

from harness.attack.textattack_resources import check_textattack, missing_resources
from harness.core.resources import textattack_unavailable


def needs_textattack(config_class: Optional[type]) -> bool:
    """Whether components with this config class run TextAttack: every recipe (RecipeConfig) and TextAttack
    augmenter (AugmenterConfig), built-in or third-party."""
    from harness.attack.textattack_augmenters import AugmenterConfig

    return isinstance(config_class, type) and issubclass(config_class, (RecipeConfig, AugmenterConfig))


@dataclass(frozen=True)
class RecipeSpec:
    recipe_class: Optional[str]
    """Class name in textattack.attack_recipes; None for harness-built variants."""
    needs: tuple[str, ...]
    reference: str
    unsupported: Optional[str] = None
    """Why the recipe cannot attack a transformer classifier at all (then it always fails validation)."""
    sentence_encoder: bool = False
    """Whether it keeps a sentence-similarity constraint (USE, SBERT) whose threshold min_similarity sets."""
    candidate_limit: bool = False
    """Whether its word-swap transformation honours max_candidates (embedding neighbours, masked-LM proposals,
    HowNet sememes); WordNet swaps and composite transformations take every candidate."""


RECIPES: dict[str, RecipeSpec] = {
    "a2t": RecipeSpec("A2TYoo2021", ("counter-fitted", "stsb-distilbert-base", "pos-tagger"), "Yoo & Qi 2021",
                      candidate_limit=True, sentence_encoder=True),
    "alzantot": RecipeSpec("GeneticAlgorithmAlzantot2018", ("counter-fitted", "google-lm"), "Alzantot et al. 2018",
                           candidate_limit=True),
    "bad-characters": RecipeSpec("BadCharacters2021", ("homoglyphs",), "Boucher et al. 2021"),
    "bae": RecipeSpec("BAEGarg2019", ("bert-base-uncased", "use", "pos-tagger"), "Garg & Ramakrishnan 2019",
                      candidate_limit=True, sentence_encoder=True),
    "bert-attack": RecipeSpec("BERTAttackLi2020", ("bert-base-uncased", "use"), "Li et al. 2020",
                              candidate_limit=True, sentence_encoder=True),
    "checklist": RecipeSpec("CheckList2020", ("flair-ner",), "Ribeiro et al. 2020"),
    "clare": RecipeSpec("CLARE2020", ("distilroberta-base", "use"), "Li et al. 2021", sentence_encoder=True),
    "deepwordbug": RecipeSpec("DeepWordBugGao2018", (), "Gao et al. 2018"),
    "faster-alzantot": RecipeSpec("FasterGeneticAlgorithmJia2019", ("counter-fitted", "learning-to-write"),
                                  "Jia et al. 2019", candidate_limit=True),
    "hotflip": RecipeSpec("HotFlipEbrahimi2017", (), "Ebrahimi et al. 2018",
                          unsupported="TextAttack's HotFlip needs gradients of TextAttack's own word-level LSTM/CNN "
                                      "models and cannot attack a transformer; use `gradient-swap`, the harness's "
                                      "HotFlip-style attack for transformers"),
    "iga": RecipeSpec("IGAWang2019", ("counter-fitted",), "Wang et al. 2019", candidate_limit=True),
    "input-reduction": RecipeSpec("InputReductionFeng2018", (), "Feng et al. 2018"),
    "kuleshov": RecipeSpec("Kuleshov2017", ("counter-fitted", "gpt2"), "Kuleshov et al. 2018", candidate_limit=True),
    "leap": RecipeSpec("LEAP2023", ("wordnet",), "Ye et al. 2023"),
    "pruthi": RecipeSpec("Pruthi2019", (), "Pruthi et al. 2019"),
    "pso": RecipeSpec("PSOZang2020", ("hownet",), "Zang et al. 2020", candidate_limit=True),
    "pwws": RecipeSpec("PWWSRen2019", ("wordnet",), "Ren et al. 2019"),
    "textbugger": RecipeSpec("TextBuggerLi2018", ("counter-fitted", "use", "homoglyphs"), "Li et al. 2019",
                             sentence_encoder=True),
    "textfooler": RecipeSpec("TextFoolerJin2019", ("counter-fitted", "use", "pos-tagger"), "Jin et al. 2020",
                             candidate_limit=True, sentence_encoder=True),
    "textfooler-wordnet-sbert": RecipeSpec(None, ("wordnet", "minilm"), "variant of Jin et al. 2020",
                                           sentence_encoder=True),
}


def check_recipe(name: str, config: Optional["RecipeConfig"] = None) -> None:
    """Raise ValueError naming what `name` needs and how to get it (run by each recipe config's __post_init__)."""
    spec = RECIPES[name]
    if spec.unsupported:
        raise ValueError(spec.unsupported)
    reason = textattack_unavailable()
    if reason is not None:
        raise ValueError(f"{name} {reason}")
    if config is not None and config.max_candidates is not None and not spec.candidate_limit:
        raise ValueError(f"max_candidates: {name}'s transformation has no candidate limit to set")
    if config is not None and config.min_similarity is not None and not spec.sentence_encoder:
        raise ValueError(f"min_similarity: {name} has no sentence-similarity constraint to set")
    missing = missing_resources(spec.needs)
    if missing:
        raise ValueError(f"{name} needs resources that are not available: {'; '.join(missing)}")


@dataclass(frozen=True)
class RecipeConfig:
    """Parameters every TextAttack recipe takes."""

    query_budget: Optional[int] = None
    """Stop attacking an example after this many model queries (TextAttack's query_budget; the example then
    failed, as in TextAttack, and its record says `stopped_by`); None: no cap."""
    max_seconds_per_example: Optional[float] = None
    """Stop attacking an example after this many seconds; it is then recorded as skipped with the reason and left
    out of accuracy under attack and the success rate (`capped_examples` counts them). None: no cap, so results
    never depend on the machine's speed. The examples are already cut to the model's max_length tokens, which
    bounds a search's cost by the window, not the text."""
    max_candidates: Optional[int] = None
    """Replacement candidates tried per word (embedding neighbours, masked-LM proposals, HowNet sememes); None:
    the recipe's published value. Only for recipes whose transformation has such a limit."""

    max_words_perturbed_percent: Optional[float] = None
    """Extra constraint: at most this % of an example's words may change (TextAttack's MaxWordsPerturbed)."""
    min_similarity: Optional[float] = None
    """Threshold of the recipe's sentence-similarity constraint (USE / SBERT); None: the published value. Only
    for recipes that have one."""
    workers: int = 1
    """Processes attacking slices of the examples at once (each loads the stored model; on a GPU they share it).
    Adversarial-training rounds attack the model while it trains, in this process."""
    pair_target: Literal["second", "first", "both"] = "second"
    """Sentence-pair tasks: the segment the attack may change, "second" (the hypothesis, the second question),
    "first" (the premise) or "both"; the other segment stays verbatim. Replaces the recipes' own premise rule.
    Single-text tasks ignore it."""

    def __post_init__(self):
        from harness.core.pairs import check_pair_target

        check_textattack()  # first: without TextAttack no other parameter matters
        check_pair_target(self.pair_target)
        if self.workers < 1:
            raise ValueError("workers must be a positive integer")
        if self.query_budget is not None and self.query_budget < 1:
            raise ValueError("query_budget must be positive")
        if self.max_seconds_per_example is not None and not self.max_seconds_per_example > 0:
            raise ValueError("max_seconds_per_example must be positive")
        if self.max_candidates is not None and self.max_candidates < 1:
            raise ValueError("max_candidates must be positive")
        if self.max_words_perturbed_percent is not None and not 0 < self.max_words_perturbed_percent <= 100:
            raise ValueError("max_words_perturbed_percent must be in (0, 100]")
        if self.min_similarity is not None and not 0 < self.min_similarity <= 1:
            raise ValueError("min_similarity must be in (0, 1]")


class TextAttackRecipe:
    """An attack component running one TextAttack recipe through the harness predictor.

    Subclasses set `recipe` (a key of RECIPES) and may override `build` for variants.
    """

    recipe: str = ""

    def __init__(self, config: RecipeConfig):
        self.config = config

    def build(self, model_wrapper: Any) -> Any:
        import textattack.attack_recipes as recipes

        return getattr(recipes, RECIPES[self.recipe].recipe_class).build(model_wrapper)

    def attack(self, classifier: Any, examples: Sequence[Any], env: Any) -> Any:
        from harness.attack.workers import attack_in_workers, can_use_workers
        from harness.core.resources import without_needless_nltk_downloads

        if self.config.workers > 1 and len(examples) > 1 and can_use_workers(classifier):
            return attack_in_workers(type(self), self.config, classifier, examples, env,
                                     min(self.config.workers, len(examples)))
        wrapper = classifier.predictor.textattack_wrapper()  # first: prepares what textattack's import needs
        from harness.attack.textattack_bridge import make_candidate_order_deterministic, run_textattack_attack

        with without_needless_nltk_downloads():
            attack = self.build(wrapper)
        make_candidate_order_deterministic(attack.transformation)
        if self.config.query_budget is not None:
            attack.goal_function.query_budget = self.config.query_budget
        apply_common_parameters(attack, self.config)
        if any(getattr(example, "text_pair", None) is not None for example in examples):
            from harness.attack.textattack_bridge import restrict_pair_segments
            from harness.core.pairs import target_segments

            restrict_pair_segments(attack, target_segments(self.config.pair_target))
        return run_textattack_attack(attack, classifier, examples, env, self.config.max_seconds_per_example)


def apply_common_parameters(attack: Any, config: RecipeConfig) -> None:
    """Set the parameters every recipe takes on a built textattack.Attack (validated by check_recipe)."""
    from textattack.constraints.overlap import MaxWordsPerturbed
    from textattack.constraints.semantics.sentence_encoders import SentenceEncoder

    if config.max_candidates is not None:
        attack.transformation.max_candidates = config.max_candidates
    if config.min_similarity is not None:
        for constraint in attack.constraints:
            if isinstance(constraint, SentenceEncoder):
                constraint.threshold = config.min_similarity
    if config.max_words_perturbed_percent is not None:
        attack.constraints.append(MaxWordsPerturbed(max_percent=config.max_words_perturbed_percent / 100))
