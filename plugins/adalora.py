"""Finetuner `adalora`: AdaLoRA (Zhang et al. 2023), LoRA whose rank budget is reallocated during training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl


@dataclass(frozen=True)
class AdaLoraFinetuneConfig(TrainingSettings):
    learning_rate: float = 5e-4
    init_r: int = 12
    """Rank every adapted matrix starts with."""
    target_r: int = 8
    """Average rank left after pruning."""
    alpha: int = 16
    dropout: float = 0.1
    target_modules: Optional[tuple[str, ...]] = None
    warmup_fraction: float = 0.1
    """Share of steps before pruning starts (AdaLoRA's tinit)."""
    final_fraction: float = 0.2
    """Share of final steps with the budget fixed (AdaLoRA's tfinal)."""

    def __post_init__(self):
        super().__post_init__()
        if not 1 <= self.target_r <= self.init_r:
            raise ValueError("target_r must be between 1 and init_r")
        if self.warmup_fraction + self.final_fraction >= 1:
            raise ValueError("warmup_fraction + final_fraction must be below 1")


class AdaLoraFinetuner:
    def __init__(self, config: AdaLoraFinetuneConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        from harness import lora_target_modules, peft_task_type, planned_steps, train_with_peft

        total_steps = planned_steps(len(request.data.train), self.config, request.budgets, request.adversarial)

        def peft_config(model):
            from peft import AdaLoraConfig

            return AdaLoraConfig(
                task_type=peft_task_type(request.kind, model), init_r=self.config.init_r, target_r=self.config.target_r,
                lora_alpha=self.config.alpha, lora_dropout=self.config.dropout,
                target_modules=lora_target_modules(model.config.model_type, "adalora", self.config.target_modules),
                total_step=total_steps, tinit=int(self.config.warmup_fraction * total_steps),
                tfinal=int(self.config.final_fraction * total_steps), deltaT=max(1, total_steps // 20))

        def rank_allocation(model):
            return lambda step: model.base_model.update_and_allocate(step)

        return train_with_peft(request, self.config, peft_config, make_step_callback=rank_allocation)


@hookimpl
def register_finetuners(register):
    register("adalora", AdaLoraFinetuner, config=AdaLoraFinetuneConfig,
             description="AdaLoRA: LoRA with an adaptive, importance-driven rank budget (PEFT)")
