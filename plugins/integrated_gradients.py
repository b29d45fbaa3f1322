"""Explainer `integrated-gradients`: Captum's layer integrated gradients on the input embeddings.

Baseline: the same sequence with every non-special token replaced by the pad token. Attributions are
summed over the embedding dimension, then over the subwords of each word. Many examples go into one
Captum call, grouped by length so padding stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from harness import Classifier, Example, ExplainOutcome, Metric, StageEnvironment, WordAttribution, hookimpl


@dataclass(frozen=True)
class IntegratedGradientsConfig:
    n_steps: int = 50
    """Riemann steps of the path integral (Captum's default)."""
    batch_size: int = 8
    """Examples per Captum call."""
    internal_batch_size: Optional[int] = 128
    """Forward passes per chunk inside Captum (bounds memory); None: batch_size x n_steps at once."""

    def __post_init__(self):
        if self.n_steps < 1 or self.batch_size < 1:
            raise ValueError("n_steps and batch_size must be positive")


class IntegratedGradientsExplainer:
    def __init__(self, config: IntegratedGradientsConfig):
        self.config = config

    def explain(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> ExplainOutcome:
        import torch
        from captum.attr import LayerIntegratedGradients

        from harness import aggregate_to_words, length_grouped_batches

        model = classifier.model
        model.eval()
        targets = classifier.predictor.predict([example.text for example in examples])
        target_of = {example.id: int(target) for example, target in zip(examples, targets)}

        def forward(input_ids, attention_mask):
            return model(input_ids=input_ids, attention_mask=attention_mask).logits

        integrated_gradients = LayerIntegratedGradients(forward, model.get_input_embeddings())
        attributions: list[WordAttribution] = []
        deltas: list[float] = []
        bar = env.progress(total=len(examples), desc="explain", unit="example")
        for batch in length_grouped_batches(classifier, examples, self.config.batch_size):
            batch_targets = torch.tensor([target_of[e.id] for e in batch.examples], device=classifier.device)
            token_attributions, delta = integrated_gradients.attribute(
                inputs=batch.input_ids, baselines=batch.baseline_ids, additional_forward_args=(batch.attention_mask,),
                target=batch_targets, n_steps=self.config.n_steps,
                internal_batch_size=self.config.internal_batch_size, return_convergence_delta=True)
            token_scores = (token_attributions.sum(dim=-1) * batch.attention_mask).detach().float().cpu()
            for row, example in enumerate(batch.examples):
                words, scores = aggregate_to_words(batch, row, token_scores[row].tolist())
                attributions.append(WordAttribution(example.id, words, scores, target_of[example.id], example.label,
                                                    float(delta[row])))
                deltas.append(abs(float(delta[row])))
            bar.update(len(batch.examples))
        bar.close()
        order = {example.id: index for index, example in enumerate(examples)}
        attributions.sort(key=lambda attribution: order[attribution.example_id])
        mean_delta = sum(deltas) / len(deltas) if deltas else float("nan")
        return ExplainOutcome(tuple(attributions), (Metric("mean_abs_convergence_delta", mean_delta, n=len(deltas)),))


@hookimpl
def register_explainers(register):
    register("integrated-gradients", IntegratedGradientsExplainer, config=IntegratedGradientsConfig,
             description="Captum layer integrated gradients on the input embeddings, aggregated to words")
