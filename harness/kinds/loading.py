"""Loading models for a task kind given as a harness.TaskKind, a built-in kind's name, or None (the default kind):
the public `load_base_classifier`, `load_trained_classifier`, `peft_task_type` and `model_class`. Finetuner plugins
pass `kind=request.kind`. (harness.modeling.models does the loading, for a TaskKind object.)"""

from __future__ import annotations

from typing import Any, Optional

from harness.core.types import ModelSource, TrainedModel
from harness.kinds import resolve_kind
from harness.modeling.models import LoadedClassifier, load_pretrained_classifier, load_saved_classifier


def load_base_classifier(source: ModelSource, label_names: tuple[str, ...], quantization: Optional[str] = None,
                         kind: Any = None) -> tuple[Any, Any]:
    """A pretrained model with a new head for `label_names`, and its tokenizer.

    `kind` is the task's kind (`request.kind`: a harness.TaskKind, or a built-in kind's name; None: the default
    kind): it picks the model class and sizes the head. Decoder-only models (GPT-2, Llama, Qwen, Mistral) classify
    from their last non-pad token, which transformers finds through `config.pad_token_id`; it is set here when the
    tokenizer had no pad token. `quantization` ("4bit" or "8bit") loads the frozen weights through bitsandbytes for
    QLoRA-style training.
    """
    return load_pretrained_classifier(source, label_names, resolve_kind(kind), quantization)


def load_trained_classifier(trained: TrainedModel, label_names: tuple[str, ...], device: str, max_length: int,
                            batch_size: int, kind: Any = None) -> LoadedClassifier:
    """Reload what a finetuner saved (a full model, or a base model plus a PEFT adapter) with the model class and
    predictor of `kind` (a harness.TaskKind or a built-in kind's name; None: the default kind)."""
    return load_saved_classifier(trained, label_names, device, max_length, batch_size, resolve_kind(kind))


def model_class(kind: Any = None) -> Any:
    """The transformers auto class of a task kind."""
    return resolve_kind(kind).model_class()


def peft_task_type(kind: Any = None, model: Any = None) -> Any:
    """PEFT's TaskType for a task kind (SEQ_CLS, TOKEN_CLS, SEQ_2_SEQ_LM, CAUSAL_LM ...): pass `request.kind` and the
    base model PEFT wraps, so that PEFT wraps it in the class whose forward and saved head fit the task (text
    generation needs the model: an encoder-decoder and a decoder-only LM get different PEFT classes)."""
    import inspect

    method = resolve_kind(kind).peft_task_type
    # Kinds written before the `model` argument existed take none.
    if model is None or not inspect.signature(method).parameters:
        return method()
    return method(model)
