"""PEFT's virtual tokens on transformers models: prompt tuning for token classification, and prefix tuning on
transformers 5.

Prompt tuning for token classification: PEFT prepends its virtual tokens to the sequence a token classifier tags.

PEFT (0.21) returns logits for the virtual tokens too, so a tagger's outputs no longer line up with the words'
labels. `trim_virtual_tokens` wraps such a model so that it reads like any token classifier: the virtual tokens'
logits are cut off and the loss is computed on the real positions (cross-entropy, labels -100 ignored, as
transformers' token classifiers compute it). Everything else (save_pretrained, the embeddings, the config) is the
PEFT model's own. Sequence classifiers and prefix tuning (which adds keys and values, not positions) are returned
unchanged.

Prefix tuning on transformers 5: transformers 5 renamed the models' `past_key_values` argument `cache` (the old name
is still accepted, deprecated), while PEFT (0.21) looks for `past_key_values` in the model's forward signature and
refuses prefix tuning without it. `accept_prefix_key_values` gives such a model a forward with that parameter,
which hands the prefixes on as `cache`: the same logits, loss and gradients as transformers 4.57 gives.
"""

from __future__ import annotations

import inspect
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


def trim_virtual_tokens(model: Any) -> Any:
    """A PEFT token classifier, wrapped when it is prompt-tuned (see the module docstring); the NER task
    kind calls it (harness.kinds.token)."""
    config = getattr(model, "active_peft_config", None)
    peft_type = getattr(getattr(config, "peft_type", None), "value", None)
    if peft_type not in PROMPT_POSITION_TYPES:
        return model
    return VirtualTokenTrimmer(model, config.num_virtual_tokens)


class _PrefixKeyValuesAsCache:
    """A model's forward that takes PEFT's `past_key_values` and passes them as transformers 5's `cache`.

    An object rather than a closure: it pickles (data-parallel training sends the model to its workers) and deep-copies
    with the model it belongs to."""

    def __init__(self, model: Any):
        self.model = model

    def __call__(self, *args: Any, past_key_values: Any = None, **kwargs: Any) -> Any:
        if past_key_values is not None:
            kwargs["cache"] = past_key_values
        return type(self.model).forward(self.model, *args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        """The model's own forward parameters plus `past_key_values`: what reads the signature sees both (PEFT looks
        for past_key_values; transformers 5's generate refuses keyword arguments such as `input_ids` that the
        forward's signature does not name)."""
        own = [parameter for name, parameter in inspect.signature(type(self.model).forward).parameters.items()
               if name != "self"]
        if not any(parameter.name == "past_key_values" for parameter in own):
            extra = inspect.Parameter("past_key_values", inspect.Parameter.KEYWORD_ONLY, default=None)
            before_keywords = [parameter for parameter in own if parameter.kind is not parameter.VAR_KEYWORD]
            own = [*before_keywords, extra, *(p for p in own if p.kind is p.VAR_KEYWORD)]
        return inspect.Signature(own)


def accept_prefix_key_values(model: Any) -> Any:
    """`model`, able to take PEFT's prefix key/values (see the module docstring); unchanged where its forward has
    `past_key_values` (transformers 4) or takes no cache at all (DistilBERT, DeBERTa: PEFT refuses those)."""
    parameters = inspect.signature(model.forward).parameters
    if "past_key_values" in parameters or isinstance(model.forward, _PrefixKeyValuesAsCache):
        return model
    takes_cache = "cache" in parameters
    if not takes_cache and any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters.values()):
        backbone = getattr(model, getattr(model, "base_model_prefix", ""), None)
        takes_cache = backbone is not None and "cache" in inspect.signature(backbone.forward).parameters
    if takes_cache:
        model.forward = _PrefixKeyValuesAsCache(model)
    return model
