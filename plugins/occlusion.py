"""Explainer `occlusion`: Captum's Occlusion (Zeiler & Fergus 2014) sliding a window of pad tokens over the text.

A window of `window` subword tokens moves `stride` tokens at a time; each token's score is the mean logit drop of
the windows covering it, and a word's score sums its subwords. Unlike `feature-ablation` (one word at a time),
windows also catch phrases whose words only matter together.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import ExplainerSettings, WordPerturbationExplainer, hookimpl


@dataclass(frozen=True)
class OcclusionConfig(ExplainerSettings):
    batch_size: int = 32
    perturbations_per_eval: int = 8
    """Perturbed copies of the batch per model call (bigger calls, fewer of them)."""
    window: int = 3
    """Tokens occluded at once."""
    stride: int = 1

    def __post_init__(self):
        super().__post_init__()
        if self.window < 1 or self.stride < 1:
            raise ValueError("window and stride must be positive integers")


class OcclusionExplainer(WordPerturbationExplainer):
    reduce = "sum"

    def attribute_ids(self, forward, batch, feature_mask, targets):
        from captum.attr import Occlusion

        window = min(self.config.window, batch.input_ids.shape[1])
        return Occlusion(forward).attribute(
            batch.input_ids, sliding_window_shapes=(window,), strides=(self.config.stride,),
            baselines=batch.baseline_ids, target=targets, additional_forward_args=(batch.attention_mask,),
            perturbations_per_eval=self.config.perturbations_per_eval)


@hookimpl
def register_explainers(register):
    register("occlusion", OcclusionExplainer, config=OcclusionConfig,
             description="Captum occlusion: a sliding window of pad tokens, mean logit drop per token, summed to words")
