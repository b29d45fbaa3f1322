"""TextAttack's augmenters as harness augmenters: resources checked at validation, deterministic per text.

TextAttack augments one text at a time with the global random state. The harness seeds that state from a hash
of (stage seed, augmenter, text) before each text, so a text gets the same augmentation whatever else is in the
batch and in whatever order, and a different seed gives a different augmentation. Imported cheaply: textattack
is imported only when an augmenter runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from harness.attack.perturbation import text_seed
from harness.attack.textattack_resources import check_textattack, missing_resources
from harness.core.pairs import PairTargetSetting


@dataclass(frozen=True)
class AugmenterSpec:
    augmenter_class: str
    """Class name in textattack.augmentation."""
    needs: tuple[str, ...]
    word_level: bool = True
    """Whether it takes pct_words_to_swap."""


AUGMENTERS: dict[str, AugmenterSpec] = {
    "eda": AugmenterSpec("EasyDataAugmenter", ("wordnet",)),
    "wordnet-synonyms": AugmenterSpec("WordNetAugmenter", ("wordnet",)),
    "char-edits": AugmenterSpec("CharSwapAugmenter", ()),
    "embedding-synonyms": AugmenterSpec("EmbeddingAugmenter", ("counter-fitted",)),
    "checklist-augment": AugmenterSpec("CheckListAugmenter", ("flair-ner",)),
    "clare-augment": AugmenterSpec("CLAREAugmenter", ("distilroberta-base", "use")),
    "back-translation": AugmenterSpec("BackTranslationAugmenter", ("marian-en-romance", "marian-romance-en"),
                                      word_level=False),
}


@dataclass(frozen=True)
class AugmenterConfig(PairTargetSetting):
    pct_words_to_swap: Optional[float] = None
    """Share of words changed per text (TextAttack's pct_words_to_swap); None: TextAttack's default, 0.1. Only
    for word-level augmenters."""

    def __post_init__(self):
        check_textattack()  # first: without TextAttack no other parameter matters
        super().__post_init__()
        if self.pct_words_to_swap is not None and not 0 < self.pct_words_to_swap <= 1:
            raise ValueError("pct_words_to_swap must be in (0, 1]")


def check_augmenter(name: str, config: AugmenterConfig) -> None:
    """Raise ValueError naming what the augmenter needs and how to get it (for `harness validate`)."""
    spec = AUGMENTERS[name]
    if config.pct_words_to_swap is not None and not spec.word_level:
        raise ValueError(f"pct_words_to_swap: {name} rewrites whole sentences, it has no share of words to set")
    missing = missing_resources(spec.needs)
    if missing:
        raise ValueError(f"{name} needs resources that are not available: {'; '.join(missing)}")


class TextAttackAugmenter:
    """One TextAttack augmenter; subclasses set `name` (a key of AUGMENTERS)."""

    name: str = ""

    def __init__(self, config: AugmenterConfig):
        self.config = config
        self._augmenter: Any = None

    def _build(self) -> Any:
        from harness.core.resources import prepare_nltk_and_textattack, without_needless_nltk_downloads

        prepare_nltk_and_textattack()
        import textattack.augmentation as augmentation

        spec = AUGMENTERS[self.name]
        options: dict[str, Any] = {"transformations_per_example": 1}
        if spec.word_level and self.config.pct_words_to_swap is not None:
            options["pct_words_to_swap"] = self.config.pct_words_to_swap
        from harness.attack.textattack_bridge import make_candidate_order_deterministic

        with without_needless_nltk_downloads():
            augmenter = getattr(augmentation, spec.augmenter_class)(**options)
        # Recipes such as EDA hold one augmenter per operation instead of a transformation of their own.
        parts = [augmenter] if hasattr(augmenter, "transformation") else [
            value for value in vars(augmenter).values() if hasattr(value, "transformation")]
        for part in parts:
            make_candidate_order_deterministic(part.transformation)
        if type(augmenter).__name__ == "EasyDataAugmenter":
            augmenter.augment = lambda text: _easy_data_augment(augmenter, text)
        return augmenter

    def augment(self, texts: Sequence[str], env: Any) -> list[str]:
        import numpy as np
        import torch

        if self._augmenter is None:
            self._augmenter = self._build()
        outputs = []
        for text in env.progress(texts, desc=f"augment {self.name}", unit="text"):
            seed = text_seed(env.seed, self.name, text)
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            augmented = self._augmenter.augment(text) if text.strip() else []
            outputs.append(augmented[0] if augmented else text)  # nothing to change: the text itself
        return outputs


def _easy_data_augment(eda: Any, text: str) -> list[str]:
    """EasyDataAugmenter.augment with sorted(set(...)) where TextAttack has list(set(...)): the order of a set of
    strings follows per-process string hashing, so the seeded shuffle that follows differed between two runs."""
    augmented = sorted(set(eda.synonym_replacement.augment(text) + eda.random_deletion.augment(text)
                           + eda.random_swap.augment(text) + eda.random_insertion.augment(text)))
    random.shuffle(augmented)
    return augmented[: eda.transformations_per_example]
