"""The models of the text-generation kind: encoder-decoders (T5, BART, Marian) and decoder-only language models
(GPT-2, Llama, Qwen2, Mistral), told apart by their config's `is_encoder_decoder`.

A kind gives the loader one model class (TaskKind.model_class); `GenerationModels` is that class for both families:
its `from_pretrained` reads the checkpoint's config and loads it with AutoModelForSeq2SeqLM or AutoModelForCausalLM.
PEFT needs the same distinction (its SEQ_2_SEQ_LM and CAUSAL_LM model classes shift labels and place virtual tokens
differently), so `peft_task_type` asks the model.
"""

from __future__ import annotations

from typing import Any


class GenerationModels:
    """`from_pretrained` for a generation checkpoint of either family (the kind's `model_class()`)."""

    @staticmethod
    def auto_class(location: str, revision: Any = None, trust_remote_code: bool = False) -> Any:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

        config = AutoConfig.from_pretrained(location, revision=revision, trust_remote_code=trust_remote_code)
        return AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM

    @classmethod
    def from_pretrained(cls, location: str, *args: Any, **options: Any) -> Any:
        auto = cls.auto_class(location, options.get("revision"), bool(options.get("trust_remote_code", False)))
        return auto.from_pretrained(location, *args, **options)


def is_encoder_decoder(model: Any) -> bool:
    """Whether a (possibly PEFT-wrapped) generation model is an encoder-decoder; False: a decoder-only LM."""
    return bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False))


def peft_task_type_of(model: Any) -> Any:
    from peft import TaskType

    return TaskType.SEQ_2_SEQ_LM if is_encoder_decoder(model) else TaskType.CAUSAL_LM


def generation_config_ids(model: Any, tokenizer: Any) -> dict[str, Any]:
    """The token ids `generate` needs, from the tokenizer where the model's config lacks them (a decoder shipped
    without a pad token pads with EOS)."""
    config = model.config
    eos = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
    pad = config.pad_token_id if config.pad_token_id is not None else tokenizer.pad_token_id
    return {"eos_token_id": eos, "pad_token_id": pad if pad is not None else eos}
