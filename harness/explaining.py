"""Shared machinery of the built-in explainers: the settings every explainer takes, and two bases over Captum.

- GradientExplainer: methods that differentiate the model with respect to its input embeddings (integrated
  gradients, saliency, input x gradient, DeepLift, GradientSHAP). Captum is given `inputs_embeds`, so one code
  path serves encoders, decoders and PEFT models alike (prompt and prefix tuning add their virtual tokens
  inside the model). Subword scores (summed over the embedding dimension) are summed into words.
- WordPerturbationExplainer: methods that query the model on perturbed inputs (feature ablation, occlusion,
  LIME, Kernel SHAP, Shapley value sampling). Features are whole words (a feature mask over subwords, the
  baseline being the pad token), so the cost grows with words rather than subwords.

Both explain the model's own prediction (the target), put many examples of similar token length into one
Captum call where the method allows it, and run under bf16 autocast on CUDA while Captum accumulates the
attributions in fp32 (the inputs and baselines it integrates over are fp32 tensors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from harness.attribution import EncodedBatch, aggregate_to_words, length_grouped_batches, word_feature_mask
from harness.types import Example, ExplainOutcome, Metric, StageEnvironment, WordAttribution


@dataclass(frozen=True)
class ExplainerSettings:
    """Settings every built-in explainer takes; plugin configs extend this dataclass.

    The quality metrics are computed by the harness around any explainer (see harness.runner), and cost extra
    model queries or explanations; each can be switched off.
    """

    batch_size: int = 8
    """Examples per Captum call (methods that attribute one example at a time ignore it)."""
    faithfulness: bool = True
    """Comprehensiveness and sufficiency (AOPC), log-odds drop and leave-one-out correlation."""
    stability: bool = True
    """Explain the successful adversarial examples of the model's attacks and compare with the originals."""
    randomization_check: bool = True
    """Explain a copy of the model with re-initialised weights (Adebayo et al. 2018): attributions that barely
    change are not explaining the model."""

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError("batch_size must be a positive integer")


class _BatchedExplainer:
    """What both bases share: targets, length-grouped batches, progress, word records in input order."""

    reduce = "sum"
    """How subword scores become word scores (see harness.attribution.aggregate_to_words)."""

    def __init__(self, config: ExplainerSettings):
        self.config = config

    def attribute_batch(self, classifier: Any, batch: EncodedBatch, targets: Any) -> tuple[Any, Optional[Any]]:
        """Token scores of shape (batch, tokens), and per-example convergence deltas or None."""
        raise NotImplementedError

    def extra_metrics(self, deltas: list[float]) -> list[Metric]:
        if not deltas:
            return []
        return [Metric("mean_abs_convergence_delta", sum(abs(delta) for delta in deltas) / len(deltas), n=len(deltas))]

    def explain(self, classifier: Any, examples: Sequence[Example], env: StageEnvironment) -> ExplainOutcome:
        import torch

        model = classifier.model
        model.eval()
        targets = classifier.predictor.predict([example.text for example in examples])
        target_of = {example.id: int(target) for example, target in zip(examples, targets)}
        attributions: list[WordAttribution] = []
        deltas: list[float] = []
        bar = env.progress(total=len(examples), desc=f"explain {type(self).__name__}", unit="example")
        try:
            for batch in length_grouped_batches(classifier, examples, self.config.batch_size):
                batch_targets = torch.tensor([target_of[example.id] for example in batch.examples],
                                             device=classifier.device)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=str(classifier.device).startswith("cuda")):
                    token_scores, batch_deltas = self.attribute_batch(classifier, batch, batch_targets)
                token_scores = (token_scores.detach().float() * batch.attention_mask).cpu()
                for row, example in enumerate(batch.examples):
                    words, scores, spans = aggregate_to_words(batch, row, token_scores[row].tolist(), self.reduce)
                    delta = float(batch_deltas[row]) if batch_deltas is not None else None
                    if delta is not None:
                        deltas.append(delta)
                    attributions.append(WordAttribution(example.id, words, scores, target_of[example.id],
                                                        example.label, delta, spans))
                bar.update(len(batch.examples))
        finally:
            bar.close()
        order = {example.id: index for index, example in enumerate(examples)}
        attributions.sort(key=lambda attribution: order[attribution.example_id])
        return ExplainOutcome(tuple(attributions), tuple(self.extra_metrics(deltas)))


class GradientExplainer(_BatchedExplainer):
    """Base of methods over the input embeddings. Subclasses implement `attribute_embeddings`."""

    def attribute_embeddings(self, forward: Any, inputs: Any, baselines: Any, attention_mask: Any,
                             targets: Any) -> tuple[Any, Optional[Any]]:
        """Attributions shaped like `inputs` (batch, tokens, dim), and convergence deltas or None."""
        raise NotImplementedError

    def attribute_batch(self, classifier: Any, batch: EncodedBatch, targets: Any) -> tuple[Any, Optional[Any]]:
        from harness.model_forwards import LogitsFromEmbeddings

        embeddings = classifier.model.get_input_embeddings()
        inputs = embeddings(batch.input_ids).detach().float().requires_grad_()
        baselines = embeddings(batch.baseline_ids).detach().float()
        attributions, deltas = self.attribute_embeddings(LogitsFromEmbeddings(classifier.model), inputs, baselines,
                                                         batch.attention_mask, targets)
        return attributions.float().sum(dim=-1), deltas


class WordPerturbationExplainer(_BatchedExplainer):
    """Base of methods that perturb whole words. Subclasses implement `attribute_ids`."""

    reduce = "first"

    def attribute_ids(self, forward: Any, batch: EncodedBatch, feature_mask: Any, targets: Any) -> Any:
        """Token scores (batch, tokens); every subword of a word carries the word's score."""
        raise NotImplementedError

    @staticmethod
    def attribute_each_text(method: Any, batch: EncodedBatch, feature_mask: Any, targets: Any, **options: Any) -> Any:
        """One `method.attribute` call per text, for Captum methods that fit a surrogate per example (LIME,
        Kernel SHAP); `options` go to every call."""
        import torch

        return torch.cat([method.attribute(
            batch.input_ids[row:row + 1], baselines=batch.baseline_ids[row:row + 1], target=targets[row:row + 1],
            additional_forward_args=(batch.attention_mask[row:row + 1],), feature_mask=feature_mask[row:row + 1],
            **options) for row in range(batch.input_ids.shape[0])])

    def attribute_batch(self, classifier: Any, batch: EncodedBatch, targets: Any) -> tuple[Any, Optional[Any]]:
        import torch

        from harness.model_forwards import LogitsFromIds

        with torch.inference_mode():
            scores = self.attribute_ids(LogitsFromIds(classifier.model), batch, word_feature_mask(batch), targets)
        return scores, None
