"""The classifier as the functions Captum attributes: logits from input embeddings, or from token ids.

Modules rather than closures because DeepLift only works on a torch Module. Imported lazily (it imports torch),
so that importing an explainer plugin stays cheap.

Sentence pairs: the token type ids must reach the model with every perturbed copy Captum makes, and Captum
copies only the additional forward arguments it is given, which explainers give as `(attention_mask,)`. So for
a batch of pairs the mask an explainer receives is *segment-coded*: 0 padding, 1 a token of the first segment
(special tokens before the second segment included), 2 a token of the second segment (see `segment_coded_mask`),
and modules built with `segment_coded=True` split it back into the model's attention mask and token type ids.
For single texts the mask is the plain 0/1 attention mask and no token type ids are passed, as before.
"""

from __future__ import annotations

from typing import Any, Optional

import torch


class LogitsFromEmbeddings(torch.nn.Module):
    """forward(inputs_embeds, attention_mask) -> fp32 logits."""

    def __init__(self, model: Any, segment_coded: bool = False):
        super().__init__()
        self.model = model
        self.segment_coded = segment_coded

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=inputs_embeds,
                          **_mask_arguments(attention_mask, self.segment_coded)).logits.float()


class LogitsFromIds(torch.nn.Module):
    """forward(input_ids, attention_mask) -> fp32 logits."""

    def __init__(self, model: Any, segment_coded: bool = False):
        super().__init__()
        self.model = model
        self.segment_coded = segment_coded

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, **_mask_arguments(attention_mask, self.segment_coded)).logits.float()


class SelectedLogitsFromEmbeddings(torch.nn.Module):
    """forward(inputs_embeds, attention_mask, selector) -> one fp32 number per row: the token classifier's logits
    weighted by `selector` (rows x tokens x labels, 1 at each position's chosen label) and summed.

    What integrated gradients attributes for an entity of a tagger: the sum of the entity's label logits over its
    words' first subwords (harness.kinds.token.explaining). The selector travels as an additional forward argument, so
    Captum repeats it for every interpolation step as it does the mask."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                selector: torch.Tensor) -> torch.Tensor:
        logits = self.model(inputs_embeds=inputs_embeds, attention_mask=_needed(attention_mask)).logits.float()
        return (logits * selector).sum(dim=(1, 2))


def segment_coded_mask(attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
    """The attention mask with each token's segment folded in: attention_mask x (token_type_id + 1)."""
    return attention_mask * (token_type_ids + 1)


def split_segment_coded_mask(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(attention_mask, token_type_ids) of a segment-coded mask; padding gets token type 0."""
    return (mask > 0).to(mask.dtype), (mask - 1).clamp(min=0)


def _mask_arguments(attention_mask: torch.Tensor, segment_coded: bool) -> dict[str, Any]:
    if not segment_coded:
        return {"attention_mask": _needed(attention_mask)}
    mask, token_type_ids = split_segment_coded_mask(attention_mask)
    return {"attention_mask": _needed(mask), "token_type_ids": token_type_ids}


def _needed(attention_mask: torch.Tensor) -> Optional[torch.Tensor]:
    """None when nothing is padded: the model then skips building and applying a mask (measurably faster on CPU
    for the one-text calls integrated gradients makes there)."""
    return None if bool(attention_mask.all()) else attention_mask
