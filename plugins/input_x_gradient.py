"""Explainer `input-x-gradient`: Captum's InputXGradient (Shrikumar et al. 2016) on the input embeddings.

Embedding times gradient of the predicted logit, summed over the embedding dimension and a word's subwords:
signed, one backward pass per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import GradientExplainer, GradientExplainerSettings, hookimpl


@dataclass(frozen=True)
class InputXGradientConfig(GradientExplainerSettings):
    batch_size: int = 32


class InputXGradientExplainer(GradientExplainer):
    def attribute_embeddings(self, forward, inputs, baselines, attention_mask, targets):
        from captum.attr import InputXGradient

        return InputXGradient(forward).attribute(inputs, target=targets,
                                                 additional_forward_args=(attention_mask,)), None


@hookimpl
def register_explainers(register):
    register("input-x-gradient", InputXGradientExplainer, config=InputXGradientConfig,
             description="Captum input x gradient on the input embeddings, aggregated to words")
