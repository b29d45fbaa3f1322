"""Explainer `lime`: Captum's Lime (Ribeiro et al. 2016) with words as interpretable features.

`n_samples` random subsets of the words are kept (the rest padded), the model is queried on them
`perturbations_per_eval` at a time, and a Lasso surrogate weighted by an exponential cosine kernel gives each word
its score. Captum fits one surrogate per text, so texts go one per call.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import ExplainerSettings, WordPerturbationExplainer, hookimpl


@dataclass(frozen=True)
class LimeConfig(ExplainerSettings):
    n_samples: int = 100
    perturbations_per_eval: int = 50
    """Perturbed texts per model call."""
    alpha: float = 0.01
    """Lasso regularisation of the surrogate model."""

    def __post_init__(self):
        super().__post_init__()
        if self.n_samples < 2 or self.perturbations_per_eval < 1 or self.alpha < 0:
            raise ValueError("n_samples must be at least 2, perturbations_per_eval positive, alpha non-negative")


class LimeExplainer(WordPerturbationExplainer):
    def attribute_ids(self, forward, batch, feature_mask, targets):
        from captum._utils.models.linear_model import SkLearnLasso
        from captum.attr import Lime

        method = Lime(forward, interpretable_model=SkLearnLasso(alpha=self.config.alpha))
        return self.attribute_each_text(method, batch, feature_mask, targets, n_samples=self.config.n_samples,
                                        perturbations_per_eval=self.config.perturbations_per_eval)


@hookimpl
def register_explainers(register):
    register("lime", LimeExplainer, config=LimeConfig,
             description="Captum LIME over words: a sparse linear surrogate fit on random word subsets")
