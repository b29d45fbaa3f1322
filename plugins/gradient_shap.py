"""Explainer `gradient-shap`: Captum's GradientShap (Lundberg & Lee 2017) on the input embeddings.

Expected gradients between the pad-token baseline and the input, at `n_samples` random points with Gaussian
noise of `stdevs`. Captum draws baselines from one distribution shared by the whole batch, which would mix the
special-token positions of different texts, so each text is its own Captum call (its `n_samples` evaluations run
as one batch inside Captum).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import GradientExplainer, GradientExplainerSettings, hookimpl


@dataclass(frozen=True)
class GradientShapConfig(GradientExplainerSettings):
    n_samples: int = 25
    stdevs: float = 0.0
    """Gaussian noise added to each sampled point (embedding units); 0 gives expected gradients."""

    def __post_init__(self):
        super().__post_init__()
        if self.n_samples < 1 or self.stdevs < 0:
            raise ValueError("n_samples must be positive and stdevs non-negative")


class GradientShapExplainer(GradientExplainer):
    def attribute_embeddings(self, forward, inputs, baselines, attention_mask, targets):
        import torch
        from captum.attr import GradientShap

        method = GradientShap(forward)
        rows, deltas = [], []
        for row in range(inputs.shape[0]):
            attributions, delta = method.attribute(
                inputs[row:row + 1], baselines=baselines[row:row + 1], target=targets[row:row + 1],
                additional_forward_args=(attention_mask[row:row + 1],), n_samples=self.config.n_samples,
                stdevs=self.config.stdevs, return_convergence_delta=True)
            rows.append(attributions)
            deltas.append(delta.mean())
        return torch.cat(rows), torch.stack(deltas)


@hookimpl
def register_explainers(register):
    register("gradient-shap", GradientShapExplainer, config=GradientShapConfig,
             description="Captum GradientSHAP (expected gradients) on the input embeddings")
