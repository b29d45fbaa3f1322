"""Per-architecture facts the finetuners need: which modules PEFT methods adapt by default.

PEFT ships defaults for many model types but not all the ones users fine-tune for classification
(DistilBERT has none, ELECTRA none for IA3); this table fills those gaps and PEFT's own mapping covers the rest.
"""

from __future__ import annotations

from typing import Any, Optional

from harness.core.errors import HarnessError

# model_type -> attention projections LoRA-style methods adapt (the original LoRA paper's W_q and W_v).
LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "bert": ("query", "value"),
    "roberta": ("query", "value"),
    "xlm-roberta": ("query", "value"),
    "electra": ("query", "value"),
    "deberta-v2": ("query_proj", "value_proj"),
    "distilbert": ("q_lin", "v_lin"),
    "gpt2": ("c_attn",),
    "llama": ("q_proj", "v_proj"),
    "mistral": ("q_proj", "v_proj"),
    "qwen2": ("q_proj", "v_proj"),
}

# BERT-style encoders: anchored regular expressions, because a bare "output.dense" suffix also matches the
# dense layer of the RoBERTa/ELECTRA classification head, which PEFT then fails to wrap.
_BERT_STYLE_IA3 = (r".*encoder\.layer\.\d+\.(attention\.self\.(key|value)|output\.dense)",
                   r".*encoder\.layer\.\d+\.output\.dense")

# model_type -> (IA3 target modules, of which feed-forward): keys, values and the FFN output, as in (IA)^3.
# A string is a regular expression over full module names (PEFT's convention).
IA3_TARGETS: dict[str, tuple] = {
    "bert": _BERT_STYLE_IA3,
    "roberta": _BERT_STYLE_IA3,
    "xlm-roberta": _BERT_STYLE_IA3,
    "electra": _BERT_STYLE_IA3,
    "deberta-v2": (("key_proj", "value_proj", "output.dense"), ("output.dense",)),
    "distilbert": (("k_lin", "v_lin", "lin2"), ("lin2",)),
    "gpt2": (("c_attn", "mlp.c_proj"), ("mlp.c_proj",)),
    "llama": (("k_proj", "v_proj", "down_proj"), ("down_proj",)),
    "mistral": (("k_proj", "v_proj", "down_proj"), ("down_proj",)),
    "qwen2": (("k_proj", "v_proj", "down_proj"), ("down_proj",)),
}


def lora_target_modules(model_type: str, method: str, override: Optional[tuple[str, ...]] = None) -> list[str]:
    if override:
        return list(override)
    if model_type in LORA_TARGETS:
        return list(LORA_TARGETS[model_type])
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    if model_type in TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING:
        return list(TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING[model_type])
    raise HarnessError(f"{method}: no default target modules for model type {model_type!r}; "
                       f"set target_modules in the suite (names of the attention projection layers)")


def ia3_target_modules(model_type: str, override: Optional[tuple[str, ...]] = None,
                       feedforward_override: Optional[tuple[str, ...]] = None) -> tuple[Any, Any]:
    """(target_modules, feedforward_modules) for PEFT's IA3Config: lists of names or regular expressions."""
    if override:
        return list(override), list(feedforward_override or ())
    if model_type in IA3_TARGETS:
        targets, feedforward = IA3_TARGETS[model_type]
        return (targets if isinstance(targets, str) else list(targets),
                feedforward if isinstance(feedforward, str) else list(feedforward))
    from peft.utils import (
        TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING,
        TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING,
    )

    if model_type in TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING:
        return (list(TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING[model_type]),
                list(TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING.get(model_type, ())))
    raise HarnessError(f"ia3: no default target modules for model type {model_type!r}; set target_modules and "
                       f"feedforward_modules in the suite")


def classification_head_parameters(model) -> list[str]:
    """Names of the parameters outside the pretrained backbone: the task head (a linear probe trains these)."""
    prefix = model.base_model_prefix + "."
    return [name for name, _ in model.named_parameters() if not name.startswith(prefix)]
