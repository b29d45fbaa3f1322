"""Explainer `integrated-gradients`: Captum's integrated gradients (Sundararajan et al. 2017) on the input embeddings.

Baseline: the same sequence with every non-special token replaced by the pad token. Attributions are summed over
the embedding dimension, then over the subwords of each word. Many examples of similar length go into one Captum
call; the convergence delta (completeness: attributions should sum to the logit difference) is recorded.

On a named-entity recognition task it explains every entity the model predicts instead: the attribution of the
entity's label logits (summed over its words) over the sentence's words (harness.kinds.token.explaining). On an
extractive-QA task it explains each predicted answer's start + end logit over the question's and the context's
words (harness.kinds.qa.explaining).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import GradientExplainer, GradientExplainerSettings, hookimpl

# Measured on 2 CPU cores (bench/explain_speed.py, MiniLM, n_steps=50): 1 text per call 1.01x the speed of
# Captum's one-text-per-call usage, 4 texts 0.99x, 8 texts 0.92x, 16 texts 0.83x. A CPU gains nothing from
# bigger calls (the n_steps interpolations already make each call a batch), a GPU gains much.
CPU_TEXTS_PER_CALL = 1
GPU_TEXTS_PER_CALL = 16


@dataclass(frozen=True)
class IntegratedGradientsConfig(GradientExplainerSettings):
    batch_size: Optional[int] = None
    """Texts per Captum call; default 1 on a CPU, 16 on a GPU (see the measurements above)."""
    n_steps: int = 50
    """Riemann steps of the path integral (Captum's default)."""
    internal_batch_size: Optional[int] = 256
    """Forward passes per chunk inside Captum (bounds memory); None: batch_size x n_steps at once."""

    def __post_init__(self):
        super().__post_init__()
        if self.n_steps < 1:
            raise ValueError("n_steps must be a positive integer")


class IntegratedGradientsExplainer(GradientExplainer):
    supports_token_classification = True

    def texts_per_call(self, device: str) -> int:
        if self.config.batch_size is not None:
            return self.config.batch_size
        return GPU_TEXTS_PER_CALL if device.startswith("cuda") else CPU_TEXTS_PER_CALL

    def attribute_embeddings(self, forward, inputs, baselines, attention_mask, targets):
        from captum.attr import IntegratedGradients

        return IntegratedGradients(forward).attribute(
            inputs, baselines=baselines, target=targets, additional_forward_args=(attention_mask,),
            n_steps=self.config.n_steps, internal_batch_size=self.config.internal_batch_size,
            return_convergence_delta=True)

    def explain_entities(self, classifier, examples, env):
        """Token classification (NER): one attribution per predicted entity, of the sum of its label logits
        (harness.kinds.token.explaining); entities of similar sentence length share a Captum call."""
        from harness import integrated_gradients_entities

        return integrated_gradients_entities(classifier, examples, env, n_steps=self.config.n_steps,
                                             internal_batch_size=self.config.internal_batch_size,
                                             rows_per_call=self.texts_per_call(str(classifier.device)))


    def explain_answers(self, classifier, examples, env, allow_impossible):
        """Extractive QA: one attribution per question, of its predicted answer's start + end logit (the null
        score where it abstains) over the question's and the context's words (harness.kinds.qa.explaining)."""
        from harness import explain_answers

        return explain_answers(classifier, examples, "integrated-gradients", allow_impossible=allow_impossible,
                               n_steps=self.config.n_steps, internal_batch_size=self.config.internal_batch_size,
                               progress=env.progress)


    def explain_generations(self, classifier, examples, env):
        """Text generation: the log-probability of the output the model generates, attributed over the prompt's
        words (the instruction's, the input's, the template's; harness.kinds.generation.explaining)."""
        from harness import explain_outputs

        return explain_outputs(classifier, examples, "integrated-gradients", n_steps=self.config.n_steps,
                               internal_batch_size=self.config.internal_batch_size, progress=env.progress)


@hookimpl
def register_explainers(register):
    register("integrated-gradients", IntegratedGradientsExplainer, config=IntegratedGradientsConfig,
             description="Captum integrated gradients on the input embeddings, aggregated to words")
