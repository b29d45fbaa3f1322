"""Finetuner `prefix-tuning`: trainable key/value prefixes in every attention layer (Li & Liang 2021).

Needs an architecture whose attention accepts past key/values as PEFT passes them (BERT, GPT-2, Llama, Qwen2,
Mistral; RoBERTa and ELECTRA on transformers 5). DistilBERT and DeBERTa have no such input; RoBERTa and ELECTRA have
one, but in transformers 4.x their cache indexing rejects PEFT's prefix format (TypeError inside modeling_roberta).
Training says so up front. On transformers 5, which renamed the argument `cache`, harness.modeling.virtual_tokens hands
PEFT's
prefixes on under the new name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl

UNSUPPORTED_MODEL_TYPES = {
    "distilbert": "does not accept past key/values",
    "deberta": "does not accept past key/values",
    "deberta-v2": "does not accept past key/values",
}
UNSUPPORTED_BEFORE_TRANSFORMERS_5 = {
    "roberta": "rejects PEFT's prefix key/values in transformers 4.x (cache indexing error; transformers 5 takes them)",
    "xlm-roberta": "rejects PEFT's prefix key/values in transformers 4.x (cache indexing error; transformers 5 takes "
                   "them)",
    "electra": "rejects PEFT's prefix key/values in transformers 4.x (cache indexing error; transformers 5 takes them)",
}


def unsupported_reason(model_type: str) -> Optional[str]:
    """Why prefix tuning cannot train this model type with the installed transformers; None if it can."""
    reason = UNSUPPORTED_MODEL_TYPES.get(model_type)
    if reason is None and model_type in UNSUPPORTED_BEFORE_TRANSFORMERS_5:
        import transformers

        if int(transformers.__version__.split(".")[0]) < 5:
            reason = UNSUPPORTED_BEFORE_TRANSFORMERS_5[model_type]
    return reason


@dataclass(frozen=True)
class PrefixTuningConfig(TrainingSettings):
    learning_rate: float = 1e-2
    epochs: float = 5.0
    num_virtual_tokens: int = 20
    prefix_projection: bool = False
    """Reparameterise the prefix through a two-layer MLP (the paper's stabiliser); more parameters."""

    def __post_init__(self):
        super().__post_init__()
        if self.num_virtual_tokens < 1:
            raise ValueError("num_virtual_tokens must be positive")


class PrefixTuningFinetuner:
    def __init__(self, config: PrefixTuningConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        from harness import HarnessError, peft_task_type, train_with_peft

        def peft_config(model):
            from peft import PrefixTuningConfig as PeftPrefixTuningConfig

            reason = unsupported_reason(model.config.model_type)
            if reason is not None:
                raise HarnessError(f"prefix-tuning: model type {model.config.model_type!r} {reason}, which prefix "
                                   f"tuning needs; use prompt-tuning or lora for this model")
            # Token classification works too: the prefixes sit in the attention's keys and values, so the model
            # still returns one row of logits per input token.
            return PeftPrefixTuningConfig(task_type=peft_task_type(request.kind, model),
                                          num_virtual_tokens=self.config.num_virtual_tokens,
                                          prefix_projection=self.config.prefix_projection)

        return train_with_peft(request, self.config, peft_config)


@hookimpl
def register_finetuners(register):
    register("prefix-tuning", PrefixTuningFinetuner, config=PrefixTuningConfig,
             description="Prefix tuning: trainable key/value prefixes in every attention layer (PEFT)")
