"""Finetuner `lora`: low-rank adapters (Hu et al. 2021) through PEFT; the classification head is trained too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl

# Attention projections to adapt when the suite does not say, by `config.model_type`.
DEFAULT_TARGET_MODULES = {
    "bert": ("query", "value"),
    "roberta": ("query", "value"),
    "electra": ("query", "value"),
    "deberta-v2": ("query_proj", "value_proj"),
    "distilbert": ("q_lin", "v_lin"),
    "gpt2": ("c_attn",),
    "llama": ("q_proj", "v_proj"),
    "mistral": ("q_proj", "v_proj"),
    "qwen2": ("q_proj", "v_proj"),
}


@dataclass(frozen=True)
class LoraFinetuneConfig(TrainingSettings):
    learning_rate: float = 5e-4
    r: int = 8
    alpha: int = 16
    dropout: float = 0.1
    target_modules: Optional[tuple[str, ...]] = None
    """Module names to adapt; default per architecture (query/value projections)."""

    def __post_init__(self):
        if self.r < 1:
            raise ValueError("r must be a positive integer")


class LoraFinetuner:
    def __init__(self, config: LoraFinetuneConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        from peft import LoraConfig, TaskType, get_peft_model

        from harness import HarnessError, load_base_classifier, train_and_save

        model, tokenizer = load_base_classifier(request.base, request.data.label_names)
        target_modules = self.config.target_modules or DEFAULT_TARGET_MODULES.get(model.config.model_type)
        if target_modules is None:
            raise HarnessError(f"lora: no default target modules for model type {model.config.model_type!r}; "
                               f"set target_modules in the suite")
        peft_config = LoraConfig(task_type=TaskType.SEQ_CLS, r=self.config.r, lora_alpha=self.config.alpha,
                                 lora_dropout=self.config.dropout, target_modules=list(target_modules))
        model = get_peft_model(model, peft_config)
        return train_and_save(model, tokenizer, request, self.config, is_adapter=True)


@hookimpl
def register_finetuners(register):
    register("lora", LoraFinetuner, config=LoraFinetuneConfig,
             description="LoRA adapters on the attention projections (PEFT); head trained in full")
