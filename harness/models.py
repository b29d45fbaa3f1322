"""Loading pretrained and fine-tuned classifiers (Hugging Face format; PEFT adapters on a base model)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from harness.types import ModelSource, TrainedModel


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence the expected "newly initialized classifier weights" warning while loading a base model."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)


def resolve_device(requested: str = "auto") -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} requested but CUDA is not available on this machine")
    return requested


def load_tokenizer(location: str, revision: Optional[str] = None) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(location, revision=revision)
    # The harness tokenizes once and pads per batch on purpose (length-sorted batches); transformers warns
    # about tokenizer.pad on fast tokenizers. Its own DataCollatorWithPadding silences the warning this way.
    tokenizer.deprecation_warnings["Asking-to-pad-a-fast-tokenizer"] = True
    if tokenizer.pad_token is None:
        # Decoder-only models (GPT-2, Llama) ship without a pad token; batching needs one.
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def load_base_classifier(source: ModelSource, label_names: tuple[str, ...]) -> tuple[Any, Any]:
    """A pretrained encoder with a new classification head for `label_names`, and its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification

    tokenizer = load_tokenizer(source.location, source.revision)
    with quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(
            source.location,
            revision=source.revision,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={name: index for index, name in enumerate(label_names)},
            dtype=torch.float32,
        )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


@dataclass
class LoadedClassifier:
    """A fine-tuned model ready for inference; satisfies harness.components.Classifier."""

    model: Any
    tokenizer: Any
    predictor: Any
    label_names: tuple[str, ...]
    device: str
    max_length: int


def load_trained_classifier(trained: TrainedModel, label_names: tuple[str, ...], device: str,
                            max_length: int, batch_size: int) -> LoadedClassifier:
    """Reload what a finetuner saved: a full model, or a base model plus a PEFT adapter."""
    from harness.predict import Predictor

    if trained.adapter_of is not None:
        from peft import PeftModel

        base, tokenizer = load_base_classifier(trained.adapter_of, label_names)
        model = PeftModel.from_pretrained(base, str(trained.model_dir))
        if hasattr(model, "merge_and_unload") and _can_merge(model):
            # Merged LoRA/IA3 weights give the same logits with one matmul less per layer.
            model = model.merge_and_unload()
        tokenizer = load_tokenizer(str(trained.model_dir)) if (Path(trained.model_dir) / "tokenizer_config.json").exists() else tokenizer
    else:
        import torch
        from transformers import AutoModelForSequenceClassification

        tokenizer = load_tokenizer(str(trained.model_dir))
        model = AutoModelForSequenceClassification.from_pretrained(str(trained.model_dir), dtype=torch.float32)
    model.to(device)
    model.eval()
    predictor = Predictor(model, tokenizer, device, max_length=max_length, batch_size=batch_size)
    return LoadedClassifier(model, tokenizer, predictor, label_names, device, max_length)


def _can_merge(model: Any) -> bool:
    config = getattr(model, "peft_config", {}).get("default")
    return getattr(config, "peft_type", None) is not None and str(config.peft_type).endswith(("LORA", "IA3"))


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in model.parameters())
    return trainable, total
