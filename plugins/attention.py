"""Explainer `attention`: raw attention weights as a baseline explanation (not a faithful one; Jain & Wallace 2019).

A word's score is the attention the pooled position pays to its subwords, averaged over heads, in one layer
(`layer`, default the last) or averaged over all layers (`layer: null`). Encoders pool the first position;
decoder classifiers pool the last real token. It is here so that the faithfulness metrics can show how far
attention is from the gradient and perturbation methods on the same model. One forward pass per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import ExplainerSettings, WordPerturbationExplainer, hookimpl

DECODER_MODEL_TYPES = ("gpt2", "llama", "mistral", "qwen2", "gpt_neox", "opt", "phi", "gemma")


@dataclass(frozen=True)
class AttentionConfig(ExplainerSettings):
    batch_size: int = 32
    layer: Optional[int] = -1
    """Which layer's attention (Python indexing: -1 is the last); null averages every layer."""


class AttentionExplainer(WordPerturbationExplainer):
    reduce = "sum"

    def attribute_batch(self, classifier, batch, targets):
        import torch

        from harness import quiet_transformers

        model = classifier.model
        config = getattr(model, "config", None)
        previous = getattr(config, "_attn_implementation", None)
        try:
            if previous not in (None, "eager"):
                # Fused attention kernels (sdpa, flash) do not return attention weights.
                config._attn_implementation = "eager"
            # quiet: transformers warns once that sdpa falls back to eager for attention weights, as asked.
            # Sentence pairs: the token type ids of the pair encoding (None for single texts).
            extra = {} if batch.token_type_ids is None else {"token_type_ids": batch.token_type_ids}
            with torch.inference_mode(), quiet_transformers():
                outputs = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_attentions=True,
                                **extra)
        finally:
            if previous not in (None, "eager"):
                config._attn_implementation = previous
        if not outputs.attentions:
            raise RuntimeError(f"model {type(model).__name__} returned no attention weights")
        layers = outputs.attentions if self.config.layer is None else (outputs.attentions[self.config.layer],)
        # (batch, heads, queries, keys) -> mean over heads and layers; PEFT prompt/prefix tuning put virtual
        # tokens first, so the text's keys are the last columns.
        attention = torch.stack([layer.float().mean(dim=1) for layer in layers]).mean(dim=0)
        width = batch.input_ids.shape[1]
        attention = attention[:, :, -width:]
        if getattr(config, "model_type", "") in DECODER_MODEL_TYPES:
            if getattr(classifier.tokenizer, "padding_side", "right") == "left":
                last = torch.full((attention.shape[0],), width - 1, device=attention.device)
            else:
                last = batch.attention_mask.sum(dim=1) - 1
            pooled = last + (attention.shape[1] - width)
        else:
            pooled = torch.zeros(attention.shape[0], dtype=torch.long, device=attention.device)
        return attention[torch.arange(attention.shape[0], device=attention.device), pooled], {}


@hookimpl
def register_explainers(register):
    register("attention", AttentionExplainer, config=AttentionConfig,
             description="Attention of the pooled position to each word (a baseline, not a faithful explanation)")
