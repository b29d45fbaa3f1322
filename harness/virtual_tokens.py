"""Prompt tuning for token classification: PEFT prepends its virtual tokens to the sequence a token classifier tags.

PEFT (0.21) returns logits for the virtual tokens too, so a tagger's outputs no longer line up with the words'
labels. `trim_virtual_tokens` wraps such a model so that it reads like any token classifier: the virtual tokens'
logits are cut off and the loss is computed on the real positions (cross-entropy, labels -100 ignored, as
transformers' token classifiers compute it). Everything else (save_pretrained, the embeddings, the config) is the
PEFT model's own. Sequence classifiers and prefix tuning (which adds keys and values, not positions) are returned
unchanged.
"""

from __future__ import annotations

from typing import Any

import torch

PROMPT_POSITION_TYPES = ("PROMPT_TUNING", "P_TUNING")
"""PEFT methods whose virtual tokens are extra input positions."""


class VirtualTokenTrimmer(torch.nn.Module):
    def __init__(self, peft_model: Any, virtual_tokens: int):
        super().__init__()
        self.peft_model = peft_model
        self.virtual_tokens = virtual_tokens

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, labels=None, **kwargs):
        from transformers.modeling_outputs import TokenClassifierOutput

        outputs = self.peft_model(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                                  **kwargs)
        logits = outputs.logits[:, self.virtual_tokens:, :]
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1),
                                                     ignore_index=-100)
        return TokenClassifierOutput(loss=loss, logits=logits)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # parameters, buffers, submodules
        except AttributeError:
            return getattr(self._modules["peft_model"], name)


def trim_virtual_tokens(model: Any, kind: str) -> Any:
    """`model`, wrapped when it is a prompt-tuned token classifier (see the module docstring)."""
    config = getattr(model, "active_peft_config", None)
    peft_type = getattr(getattr(config, "peft_type", None), "value", None)
    if kind != "token-classification" or peft_type not in PROMPT_POSITION_TYPES:
        return model
    return VirtualTokenTrimmer(model, config.num_virtual_tokens)
