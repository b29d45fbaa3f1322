"""Explainer `saliency`: gradient magnitude (Simonyan et al. 2014) through Captum's Saliency on the input embeddings.

A word's score is the L1 norm of the gradient of the predicted logit over its subwords' embeddings: how sensitive
the prediction is to the word, unsigned (saliency does not say for or against). One backward pass per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import GradientExplainer, GradientExplainerSettings, hookimpl


@dataclass(frozen=True)
class SaliencyConfig(GradientExplainerSettings):
    batch_size: int = 32


class SaliencyExplainer(GradientExplainer):
    def attribute_embeddings(self, forward, inputs, baselines, attention_mask, targets):
        from captum.attr import Saliency

        return Saliency(forward).attribute(inputs, target=targets, abs=True,
                                           additional_forward_args=(attention_mask,)), None


@hookimpl
def register_explainers(register):
    register("saliency", SaliencyExplainer, config=SaliencyConfig,
             description="Captum saliency: absolute gradient of the prediction w.r.t. the input embeddings")
