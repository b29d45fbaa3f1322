"""Explainer `shapley-value-sampling`: Captum's ShapleyValueSampling (Castro et al. 2009) with words as features.

Shapley values estimated from `n_samples` random word orderings; every permutation step evaluates the whole
batch of texts at once. Costs n_samples x words model evaluations per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import ExplainerSettings, WordPerturbationExplainer, hookimpl


@dataclass(frozen=True)
class ShapleyValueSamplingConfig(ExplainerSettings):
    batch_size: int = 16
    perturbations_per_eval: int = 8
    """Perturbed copies of the batch per model call (bigger calls, fewer of them)."""
    n_samples: int = 25
    """Random permutations of the words (Captum's default)."""

    def __post_init__(self):
        super().__post_init__()
        if self.n_samples < 1:
            raise ValueError("n_samples must be a positive integer")


class ShapleyValueSamplingExplainer(WordPerturbationExplainer):
    def attribute_ids(self, forward, batch, feature_mask, targets):
        from captum.attr import ShapleyValueSampling

        return ShapleyValueSampling(forward).attribute(
            batch.input_ids, baselines=batch.baseline_ids, target=targets,
            additional_forward_args=(batch.attention_mask,),
            perturbations_per_eval=self.config.perturbations_per_eval, feature_mask=feature_mask,
            n_samples=self.config.n_samples)

    def explain_generations(self, classifier, examples, env):
        """Text generation: the log-probability of the output the model generates, its Shapley values over the
        prompt's words (harness.kinds.generation.explaining)."""
        from harness import explain_outputs

        return explain_outputs(classifier, examples, "shapley-value-sampling", n_samples=self.config.n_samples,
                               perturbations_per_eval=self.config.perturbations_per_eval, progress=env.progress)


@hookimpl
def register_explainers(register):
    register("shapley-value-sampling", ShapleyValueSamplingExplainer, config=ShapleyValueSamplingConfig,
             description="Captum Shapley value sampling over words (random permutations)")
