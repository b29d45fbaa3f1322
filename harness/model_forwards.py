"""The classifier as the functions Captum attributes: logits from input embeddings, or from token ids.

Modules rather than closures because DeepLift only works on a torch Module. Imported lazily (it imports torch),
so that importing an explainer plugin stays cheap.
"""

from __future__ import annotations

from typing import Any

import torch


class LogitsFromEmbeddings(torch.nn.Module):
    """forward(inputs_embeds, attention_mask) -> fp32 logits."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=inputs_embeds, attention_mask=_needed(attention_mask)).logits.float()


class LogitsFromIds(torch.nn.Module):
    """forward(input_ids, attention_mask) -> fp32 logits."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=_needed(attention_mask)).logits.float()


def _needed(attention_mask: torch.Tensor) -> torch.Tensor | None:
    """None when nothing is padded: the model then skips building and applying a mask (measurably faster on CPU
    for the one-text calls integrated gradients makes there)."""
    return None if bool(attention_mask.all()) else attention_mask
