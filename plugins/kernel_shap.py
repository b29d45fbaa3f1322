"""Explainer `kernel-shap`: Captum's KernelShap (Lundberg & Lee 2017) with words as features.

LIME with the Shapley kernel and an unregularised linear surrogate: `n_samples` random word coalitions, queried
`perturbations_per_eval` at a time. One text per Captum call (one surrogate per text).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import ExplainerSettings, WordPerturbationExplainer, hookimpl


@dataclass(frozen=True)
class KernelShapConfig(ExplainerSettings):
    n_samples: int = 100
    perturbations_per_eval: int = 50

    def __post_init__(self):
        super().__post_init__()
        if self.n_samples < 2 or self.perturbations_per_eval < 1:
            raise ValueError("n_samples must be at least 2 and perturbations_per_eval positive")


class KernelShapExplainer(WordPerturbationExplainer):
    def attribute_ids(self, forward, batch, feature_mask, targets):
        from captum.attr import KernelShap

        return self.attribute_each_text(KernelShap(forward), batch, feature_mask, targets,
                                        n_samples=self.config.n_samples,
                                        perturbations_per_eval=self.config.perturbations_per_eval)


@hookimpl
def register_explainers(register):
    register("kernel-shap", KernelShapExplainer, config=KernelShapConfig,
             description="Captum Kernel SHAP over words: Shapley-kernel weighted linear surrogate")
