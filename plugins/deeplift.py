"""Explainer `deeplift`: Captum's DeepLift (Shrikumar et al. 2017, rescale rule) on the input embeddings.

Baseline: pad-token embeddings (special tokens kept). Captum applies the rescale rule to the nonlinearities it
knows as modules; transformer activations such as GELU fall back to gradients, so on transformers DeepLift sits
between input x gradient and integrated gradients. The convergence delta (summation-to-delta) is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import GradientExplainer, GradientExplainerSettings, hookimpl


@dataclass(frozen=True)
class DeepLiftConfig(GradientExplainerSettings):
    batch_size: int = 16


class DeepLiftExplainer(GradientExplainer):
    def attribute_embeddings(self, forward, inputs, baselines, attention_mask, targets):
        import warnings

        from captum.attr import DeepLift

        with warnings.catch_warnings():
            # Captum warns that it sets hooks on every nonlinearity module: expected, once per call.
            warnings.filterwarnings("ignore", message=".*[Ss]etting forward, backward hooks.*")
            return DeepLift(forward).attribute(inputs, baselines=baselines, target=targets,
                                               additional_forward_args=(attention_mask,),
                                               return_convergence_delta=True)


@hookimpl
def register_explainers(register):
    register("deeplift", DeepLiftExplainer, config=DeepLiftConfig,
             description="Captum DeepLift (rescale) on the input embeddings against a pad-token baseline")
