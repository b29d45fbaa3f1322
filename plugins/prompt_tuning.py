"""Finetuner `prompt-tuning`: soft prompt tokens prepended to the input (Lester et al. 2021); the model is frozen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl


@dataclass(frozen=True)
class PromptTuningConfig(TrainingSettings):
    learning_rate: float = 3e-2
    epochs: float = 5.0
    num_virtual_tokens: int = 20
    init_text: Optional[str] = None
    """Initialise the prompt from the embeddings of this text (e.g. "Classify the topic of this article:");
    default: random initialisation."""

    def __post_init__(self):
        super().__post_init__()
        if self.num_virtual_tokens < 1:
            raise ValueError("num_virtual_tokens must be positive")


class PromptTuningFinetuner:
    def __init__(self, config: PromptTuningConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        # Token classification works too: the harness cuts the virtual tokens' logits off
        # (harness.modeling.virtual_tokens).
        from harness import peft_task_type, train_with_peft

        def peft_config(model):
            from peft import PromptTuningConfig as PeftPromptTuningConfig
            from peft import PromptTuningInit

            # Sizes from the model itself: PEFT reads config.hidden_size / num_attention_heads / num_hidden_layers,
            # which DistilBERT calls dim / n_heads / n_layers.
            config = model.config
            common = dict(task_type=peft_task_type(request.kind, model),
                          num_virtual_tokens=self.config.num_virtual_tokens,
                          token_dim=model.get_input_embeddings().embedding_dim,
                          num_attention_heads=getattr(config, "num_attention_heads", getattr(config, "n_heads", None)),
                          num_layers=getattr(config, "num_hidden_layers", getattr(config, "n_layers", None)))
            if self.config.init_text:
                return PeftPromptTuningConfig(**common, prompt_tuning_init=PromptTuningInit.TEXT,
                                              prompt_tuning_init_text=self.config.init_text,
                                              tokenizer_name_or_path=request.base.location)
            return PeftPromptTuningConfig(**common)

        return train_with_peft(request, self.config, peft_config)


@hookimpl
def register_finetuners(register):
    register("prompt-tuning", PromptTuningFinetuner, config=PromptTuningConfig,
             description="Soft prompt tuning: trainable virtual tokens before the input, frozen model (PEFT)")
