"""Loading pretrained and fine-tuned classifiers (Hugging Face format; PEFT adapters on a base model)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from harness.core.errors import HarnessError
from harness.core.types import ModelSource, TrainedModel


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


@contextlib.contextmanager
def without_loading_bar(location: str) -> Iterator[None]:
    """No "Loading weights" progress bar (transformers 5 draws one per from_pretrained) when `location` is a local
    directory: loading one takes seconds, and a bar per load buries the harness's own progress (and shows under
    --no-progress). transformers switches huggingface_hub's download bars with it, so a hub id keeps both."""
    from transformers.utils import logging as hf_logging

    if not Path(location).is_dir():
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def resolve_device(requested: str = "auto") -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} requested but CUDA is not available on this machine")
    return requested


def load_tokenizer(location: str, revision: Optional[str] = None, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(location, revision=revision, trust_remote_code=trust_remote_code)
    # The harness tokenizes once and pads per batch on purpose (length-sorted batches); transformers warns
    # about tokenizer.pad on fast tokenizers. Its own DataCollatorWithPadding silences the warning this way.
    tokenizer.deprecation_warnings["Asking-to-pad-a-fast-tokenizer"] = True
    if tokenizer.pad_token is None:
        # Decoder-only models (GPT-2, Llama) ship without a pad token; batching needs one.
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def load_pretrained_classifier(source: ModelSource, label_names: tuple[str, ...], task_kind: Any,
                               quantization: Optional[str] = None) -> tuple[Any, Any]:
    """A pretrained model with a new head for `label_names`, and its tokenizer. `task_kind` (a harness.TaskKind)
    picks the model class and sizes the head (TaskKind.model_options). The public `harness.load_base_classifier`
    (harness.kinds.loading) also takes a kind's name.

    Decoder-only models (GPT-2, Llama, Qwen, Mistral) classify from their last non-pad token, which
    transformers finds through `config.pad_token_id`; it is set here when the tokenizer had no pad token.
    `quantization` ("4bit" or "8bit") loads the frozen weights through bitsandbytes for QLoRA-style training.
    """
    import torch

    auto_class = task_kind.model_class()
    tokenizer = load_tokenizer(source.location, source.revision, source.trust_remote_code)
    # Safetensors only unless the suite opted in: a pickle checkpoint can run arbitrary code when it is loaded.
    options: dict[str, Any] = {"trust_remote_code": source.trust_remote_code,
                               "use_safetensors": None if source.allow_pickle else True}
    if quantization is not None:
        options.update(quantization_options(quantization))
    try:
        with quiet_transformers(), without_loading_bar(source.location):
            model = auto_class.from_pretrained(
                source.location,
                revision=source.revision,
                **task_kind.model_options(label_names),
                dtype=torch.float32 if quantization is None else torch.bfloat16,
                **options,
            )
    except OSError as error:
        if source.allow_pickle or "safetensors" not in str(error):
            raise
        raise HarnessError(f"model {source.name!r} has no safetensors weights; the harness does not load pickle "
                           f"checkpoints (they can run arbitrary code) unless the suite sets `allow_pickle: true` "
                           f"under `model:`. ({error})") from error
    embeddings = model.get_input_embeddings()
    if (tokenizer.pad_token_id is not None and embeddings is not None and tokenizer.eos_token is not None
            and tokenizer.pad_token_id >= embeddings.num_embeddings):
        # transformers 5's tokenizer classes of some decoders (Qwen2) add a default pad token that the checkpoint's
        # vocabulary may lack. An id past the embedding matrix cannot be looked up even at masked positions: pad
        # with EOS, as for decoders shipped without a pad token.
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    align_tokenizer_with_model(tokenizer, model)
    if quantization is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    return model, tokenizer


def align_tokenizer_with_model(tokenizer: Any, model: Any) -> None:
    """Stop the tokenizer producing inputs the model does not take (DistilBERT has no token_type_ids, but
    pairs with BERT-style tokenizers that produce them)."""
    import inspect

    # The class's forward, not the instance's: accept_prefix_key_values may replace an instance's forward with a
    # wrapper taking **kwargs (transformers 5), which would read as "no token_type_ids" and silently drop them (a
    # reloaded BERT adapter then read a question-context or premise-hypothesis pair as one segment).
    accepted = inspect.signature(type(model).forward).parameters
    if "token_type_ids" not in accepted and "token_type_ids" in tokenizer.model_input_names:
        tokenizer.model_input_names = [name for name in tokenizer.model_input_names if name != "token_type_ids"]


def quantization_options(quantization: str) -> dict[str, Any]:
    """from_pretrained options for 4/8-bit loading; a clear error where bitsandbytes or a GPU is missing."""
    import importlib.util

    import torch

    from harness.core.errors import HarnessError

    if quantization not in ("4bit", "8bit"):
        raise HarnessError(f"quantization must be '4bit' or '8bit', got {quantization!r}")
    if not torch.cuda.is_available():
        raise HarnessError(f"{quantization} quantization (QLoRA) needs a CUDA GPU; this machine has none. "
                           f"Remove `quantization` to train in full precision on the CPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise HarnessError(f"{quantization} quantization (QLoRA) needs bitsandbytes: pip install bitsandbytes")
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                    bnb_4bit_compute_dtype=torch.bfloat16)
    else:
        config = BitsAndBytesConfig(load_in_8bit=True)
    return {"quantization_config": config, "device_map": {"": torch.cuda.current_device()}}


def is_quantized(model: Any) -> bool:
    return bool(getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False)
                or getattr(getattr(model, "base_model", None), "is_loaded_in_4bit", False)
                or getattr(getattr(model, "base_model", None), "is_loaded_in_8bit", False))


@dataclass
class LoadedClassifier:
    """A fine-tuned model ready for inference; satisfies harness.core.components.Classifier."""

    model: Any
    tokenizer: Any
    predictor: Any
    label_names: tuple[str, ...]
    device: str
    max_length: int
    trained: Optional[TrainedModel] = None
    """The stored model this was loaded from (attack workers reload it); None for a model still in memory only."""
    kind: Any = None
    """The task kind (harness.TaskKind) whose predictor `predictor` is; None: the default kind."""


def load_saved_classifier(trained: TrainedModel, label_names: tuple[str, ...], device: str, max_length: int,
                          batch_size: int, task_kind: Any) -> LoadedClassifier:
    """Reload what a finetuner saved: a full model, or a base model plus a PEFT adapter. `task_kind` (a
    harness.TaskKind) picks the model class and the predictor: nothing on disk says whether a head tags sequences or
    tokens. harness.kinds.loading.load_trained_classifier also takes a kind's name."""
    if trained.adapter_of is not None:
        from peft import PeftModel

        from harness.modeling.virtual_tokens import accept_prefix_key_values

        base, tokenizer = load_pretrained_classifier(trained.adapter_of, label_names, task_kind)
        with without_loading_bar(str(trained.model_dir)):
            model = PeftModel.from_pretrained(accept_prefix_key_values(base), str(trained.model_dir))
        model = task_kind.adapt_peft_model(model)
        if hasattr(model, "merge_and_unload") and _can_merge(model):
            # Merged LoRA/IA3 weights give the same logits with one matmul less per layer.
            model = model.merge_and_unload()
        if (Path(trained.model_dir) / "tokenizer_config.json").exists():
            tokenizer = load_tokenizer(str(trained.model_dir))
            align_tokenizer_with_model(tokenizer, base)
    else:
        import torch

        source = trained.loaded_as
        tokenizer = load_tokenizer(str(trained.model_dir), trust_remote_code=bool(source and source.trust_remote_code))
        # The harness saved it as safetensors; anything else in the cache is not ours to unpickle. A model tested
        # as is loads as its suite entry allows (pickle checkpoints and custom code only where it opted in).
        with without_loading_bar(str(trained.model_dir)):
            model = task_kind.model_class().from_pretrained(
                str(trained.model_dir), dtype=torch.float32,
                use_safetensors=None if source is not None and source.allow_pickle else True,
                trust_remote_code=bool(source and source.trust_remote_code))
        align_tokenizer_with_model(tokenizer, model)
    if trained.label_order:
        from harness.modeling.as_is import reorder_head

        reorder_head(model, trained.label_order, label_names)
    model.to(device)
    model.eval()
    predictor = task_kind.make_predictor(model, tokenizer, device, max_length, batch_size, label_names)
    return LoadedClassifier(model, tokenizer, predictor, label_names, device, max_length, trained, task_kind)


def _can_merge(model: Any) -> bool:
    config = getattr(model, "peft_config", {}).get("default")
    # Prompt and prefix tuning add virtual tokens at run time: nothing to merge. IA3 is left unmerged too:
    # PEFT's IA3 merge fails midway on composite classification heads (RoBERTa, ELECTRA), leaving a broken model.
    return str(getattr(config, "peft_type", "")).endswith("LORA")


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in model.parameters())
    return trainable, total
