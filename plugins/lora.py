"""Finetuner `lora`: low-rank adapters (Hu et al. 2021) through PEFT; the classification head is trained in full.

With `quantization: 4bit` the frozen base is loaded in 4-bit NF4 through bitsandbytes (QLoRA, Dettmers et al.
2023); that needs a CUDA GPU and bitsandbytes, and says so otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl


@dataclass(frozen=True)
class LoraFinetuneConfig(TrainingSettings):
    learning_rate: float = 5e-4
    r: int = 8
    alpha: int = 16
    dropout: float = 0.1
    target_modules: Optional[tuple[str, ...]] = None
    """Module names to adapt; default per architecture (attention query/value projections)."""
    quantization: Optional[Literal["4bit", "8bit"]] = None
    """Load the frozen base in 4 or 8 bits (QLoRA-style); needs a CUDA GPU and bitsandbytes."""

    def __post_init__(self):
        super().__post_init__()
        if self.r < 1 or self.alpha < 1:
            raise ValueError("r must be a positive integer, and so must alpha")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must be in [0, 1)")


class LoraFinetuner:
    def __init__(self, config: LoraFinetuneConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        from harness import lora_target_modules, peft_task_type, train_with_peft

        def peft_config(model):
            from peft import LoraConfig

            return LoraConfig(task_type=peft_task_type(request.kind, model), r=self.config.r,
                              lora_alpha=self.config.alpha, lora_dropout=self.config.dropout,
                              target_modules=lora_target_modules(model.config.model_type, "lora",
                                                                 self.config.target_modules))

        return train_with_peft(request, self.config, peft_config, quantization=self.config.quantization)


@hookimpl
def register_finetuners(register):
    register("lora", LoraFinetuner, config=LoraFinetuneConfig,
             description="LoRA adapters on the attention projections (PEFT); optional 4/8-bit QLoRA on a GPU")
