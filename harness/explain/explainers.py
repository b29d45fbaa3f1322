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

Sentence pairs are explained over both segments: the model reads the pair encoding (the token type ids travel
in the segment-coded mask of harness.modeling.model_forwards), every word of both segments is a feature, and the
attribution lists the words of `text` then of `text_pair` with the segment of each (harness.core.pairs).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from harness.core.pairs import make_word_attribution, model_input
from harness.core.types import Example, ExplainOutcome, Metric, StageEnvironment, WordAttribution
from harness.explain.attribution import (
    EncodedBatch,
    aggregate_to_words,
    length_grouped_batches,
    word_feature_mask,
    word_segments,
)


@dataclass(frozen=True)
class ExplainerSettings:
    """Settings every built-in explainer takes; plugin configs extend this dataclass.

    The quality metrics are computed by the harness around any explainer (see harness.core.runner), and cost extra
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
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError("batch_size must be a positive integer")


@dataclass(frozen=True)
class GradientExplainerSettings(ExplainerSettings):
    """Settings of explainers over the input embeddings, where Captum's own metrics apply."""

    infidelity_samples: int = 8
    """Perturbations per text for Captum's infidelity (Yeh et al. 2019): random token subsets are set to the
    baseline, and the attributions removed should predict the output drop (lower is better); 0 skips it.
    Costs that many forward passes per text."""
    sensitivity_samples: int = 0
    """Perturbed inputs per text for Captum's max-sensitivity (Yeh et al. 2019): how much the explanation moves
    under a small input change. Each costs a whole explanation, so it is off unless asked for."""
    perturbation_scale: float = 0.01
    """Radius of the max-sensitivity ball, in embedding units."""

    def __post_init__(self):
        super().__post_init__()
        if self.infidelity_samples < 0 or self.sensitivity_samples < 0 or self.perturbation_scale <= 0:
            raise ValueError("infidelity_samples and sensitivity_samples must be >= 0, perturbation_scale > 0")


INFIDELITY_REMOVAL_RATE = 0.25
"""Chance that a token is removed in one infidelity perturbation."""

# Per-example numbers an explainer may return beside the scores; the mean of each is reported.
PER_EXAMPLE_METRICS = {"convergence_delta": "mean_abs_convergence_delta", "infidelity": "mean_infidelity",
                       "sensitivity_max": "mean_sensitivity_max"}


class _BatchedExplainer:
    """What both bases share: targets, length-grouped batches, progress, word records in input order."""

    reduce = "sum"
    """How subword scores become word scores (see harness.explain.attribution.aggregate_to_words)."""

    def __init__(self, config: ExplainerSettings):
        self.config = config

    def attribute_batch(self, classifier: Any, batch: EncodedBatch, targets: Any) -> tuple[Any, dict[str, Any]]:
        """Token scores of shape (batch, tokens), and per-example extras (keys of PER_EXAMPLE_METRICS)."""
        raise NotImplementedError

    def texts_per_call(self, device: str) -> int:
        """Texts batched into one Captum call on `device`."""
        return self.config.batch_size

    def explain(self, classifier: Any, examples: Sequence[Example], env: StageEnvironment) -> ExplainOutcome:
        import torch

        model = classifier.model
        model.eval()
        targets = classifier.predictor.predict([model_input(example) for example in examples])
        target_of = {example.id: int(target) for example, target in zip(examples, targets)}
        attributions: list[WordAttribution] = []
        extras: dict[str, list[float]] = {name: [] for name in PER_EXAMPLE_METRICS}
        bar = env.progress(total=len(examples), desc=f"explain {type(self).__name__}", unit="example")
        try:
            for batch in length_grouped_batches(classifier, examples, self.texts_per_call(str(classifier.device))):
                batch_targets = torch.tensor([target_of[example.id] for example in batch.examples],
                                             device=classifier.device)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=str(classifier.device).startswith("cuda")):
                    token_scores, batch_extras = self.attribute_batch(classifier, batch, batch_targets)
                token_scores = (token_scores.detach().float() * batch.attention_mask).cpu()
                for name, values in batch_extras.items():
                    extras[name].extend(float(value) for value in values.detach().float().cpu().reshape(-1))
                for row, example in enumerate(batch.examples):
                    words, scores, spans = aggregate_to_words(batch, row, token_scores[row].tolist(), self.reduce)
                    delta = batch_extras.get("convergence_delta")
                    attributions.append(make_word_attribution(
                        word_segments(batch, row), example.text_pair is not None, example_id=example.id, words=words,
                        scores=scores, target=target_of[example.id], label=example.label,
                        convergence_delta=None if delta is None else float(delta[row]), spans=spans))
                bar.update(len(batch.examples))
        finally:
            bar.close()
        order = {example.id: index for index, example in enumerate(examples)}
        attributions.sort(key=lambda attribution: order[attribution.example_id])
        metrics = [Metric(PER_EXAMPLE_METRICS[name], sum(abs(value) for value in values) / len(values), n=len(values))
                   for name, values in extras.items() if values]
        return ExplainOutcome(tuple(attributions), tuple(metrics))


class GradientExplainer(_BatchedExplainer):
    """Base of methods over the input embeddings. Subclasses implement `attribute_embeddings`."""

    def attribute_embeddings(self, forward: Any, inputs: Any, baselines: Any, attention_mask: Any,
                             targets: Any) -> tuple[Any, Optional[Any]]:
        """Attributions shaped like `inputs` (batch, tokens, dim), and convergence deltas or None.

        `attention_mask` is the forward's mask (segment-coded for sentence pairs, see harness.modeling.model_forwards):
        pass it to Captum as the forward's additional argument, `additional_forward_args=(attention_mask,)`."""
        raise NotImplementedError

    def attribute_batch(self, classifier: Any, batch: EncodedBatch, targets: Any) -> tuple[Any, dict[str, Any]]:
        from harness.modeling.model_forwards import LogitsFromEmbeddings

        embeddings = classifier.model.get_input_embeddings()
        inputs = embeddings(batch.input_ids).detach().float().requires_grad_()
        baselines = embeddings(batch.baseline_ids).detach().float()
        forward = LogitsFromEmbeddings(classifier.model, segment_coded=batch.segment_coded)
        mask = batch.forward_mask
        attributions, deltas = self.attribute_embeddings(forward, inputs, baselines, mask, targets)
        extras = {} if deltas is None else {"convergence_delta": deltas}
        extras.update(self._captum_metrics(forward, inputs, baselines, mask, targets, attributions))
        return attributions.float().sum(dim=-1), extras

    def _captum_metrics(self, forward: Any, inputs: Any, baselines: Any, attention_mask: Any, targets: Any,
                        attributions: Any) -> dict[str, Any]:
        """Captum's infidelity and max-sensitivity of these attributions, per text. The noise also lands on padding,
        where it changes neither the output (masked) nor the attribution sum (attributions are zero there)."""
        import torch
        from captum.metrics import infidelity

        settings = self.config
        scale = getattr(settings, "perturbation_scale", 0.01)
        results: dict[str, Any] = {}
        if getattr(settings, "infidelity_samples", 0):
            def perturb(embeds, baselines_):
                # Remove a random subset of tokens (their embeddings set to the baseline's). The attributions are
                # already multiplied by (input - baseline), so the perturbation I is the 0/1 removal mask and
                # I . attributions is the attribution mass removed, which should match the output drop.
                removed = (torch.rand(embeds.shape[:2], device=embeds.device) < INFIDELITY_REMOVAL_RATE)
                removed = removed.unsqueeze(-1).to(embeds.dtype).expand_as(embeds)
                return removed, embeds - removed * (embeds - baselines_)

            # normalize=True rescales the attributions by the best-fitting scalar, as Yeh et al. recommend.
            results["infidelity"] = infidelity(
                forward, perturb, inputs.detach(), attributions.detach().float(), baselines=baselines,
                additional_forward_args=(attention_mask,), target=targets,
                n_perturb_samples=settings.infidelity_samples, normalize=True)
        if getattr(settings, "sensitivity_samples", 0):
            # Max-sensitivity (Yeh et al. 2019) as captum.metrics.sensitivity_max defines it: the largest relative
            # change of the explanation over inputs drawn uniformly from an L-infinity ball. Computed here because
            # Captum 0.9 does not expand per-example baselines and targets to the perturbed copies.
            reference = attributions.detach().float().flatten(start_dim=1)
            reference_norm = reference.norm(dim=1).clamp_min(1e-12)
            worst = torch.zeros(inputs.shape[0], device=inputs.device)
            for _ in range(settings.sensitivity_samples):
                perturbed = (inputs.detach() + torch.empty_like(inputs).uniform_(-scale, scale)).requires_grad_()
                with torch.enable_grad():
                    again, _ = self.attribute_embeddings(forward, perturbed, baselines, attention_mask, targets)
                change = (again.detach().float().flatten(start_dim=1) - reference).norm(dim=1) / reference_norm
                worst = torch.maximum(worst, change)
            results["sensitivity_max"] = worst
        return results


class WordPerturbationExplainer(_BatchedExplainer):
    """Base of methods that perturb whole words. Subclasses implement `attribute_ids`."""

    reduce = "first"

    def attribute_ids(self, forward: Any, batch: EncodedBatch, feature_mask: Any, targets: Any) -> Any:
        """Token scores (batch, tokens); every subword of a word carries the word's score.

        Here `batch.attention_mask` is the forward's mask (segment-coded for sentence pairs, see
        harness.modeling.model_forwards): pass it to Captum as `additional_forward_args=(batch.attention_mask,)`."""
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

    def attribute_batch(self, classifier: Any, batch: EncodedBatch, targets: Any) -> tuple[Any, dict[str, Any]]:
        import torch

        from harness.modeling.model_forwards import LogitsFromIds

        feature_mask = word_feature_mask(batch)
        if batch.segment_coded:
            batch = dataclasses.replace(batch, attention_mask=batch.forward_mask)
        with torch.inference_mode():
            scores = self.attribute_ids(LogitsFromIds(classifier.model, segment_coded=batch.segment_coded), batch,
                                        feature_mask, targets)
        return scores, {}
