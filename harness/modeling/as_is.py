"""A model tested as it is: a classifier trained elsewhere (a local directory, a hub id, a PEFT adapter), evaluated,
attacked, explained and gated without fine-tuning.

Its labels must be the task's: they map by name from the model's `id2label` (case aside), or through the suite's
`label_map:` where the names differ; a model whose head has another size, maps two labels onto one, or is not a
head for the task's kind is refused at its suite line before anything runs (`as_is_problems`, from the config
alone: no weights are loaded and no code runs). When the model's labels come in another order than the task's,
its output layer is reordered once when it loads (`reorder_head`), so every stage sees the task's order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from harness.core.errors import SuiteError
from harness.core.types import ModelSource, TrainedModel, TrainRequest
from harness.modeling.fingerprint import adapter_base

if TYPE_CHECKING:
    from harness.core.suite.spec import Suite


class LabelMismatch(ValueError):
    """The model's labels cannot be mapped onto the task's."""


def local_directory(source: ModelSource, offline_only: bool = False) -> Path:
    """A local directory holding the model: its own, or the hub snapshot of its revision (downloaded if need be)."""
    if os.path.isdir(source.location):
        return Path(source.location)
    from huggingface_hub import snapshot_download

    from harness.modeling.fingerprint import hub_offline

    return Path(snapshot_download(source.location, revision=source.revision,
                                  local_files_only=offline_only or hub_offline()))


def read_config(directory: Path) -> dict[str, Any]:
    """The model's config.json, or {} for an adapter directory without one."""
    path = directory / "config.json"
    if not path.is_file():
        return {}
    values = json.loads(path.read_text(encoding="utf-8"))
    return values if isinstance(values, dict) else {}


def label_order(config: dict[str, Any], task_labels: Sequence[str],
                label_map: Sequence[tuple[str, str]] = ()) -> tuple[int, ...]:
    """The model's output index of each task label; () when they are the same, or when the task has no labels (its
    answers are spans: extractive QA). Raises LabelMismatch."""
    if not task_labels:
        return ()
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        count = config.get("num_labels", len(task_labels))
        id2label = {str(index): f"LABEL_{index}" for index in range(int(count))}
    model_labels = [str(id2label.get(str(index), id2label.get(index, f"LABEL_{index}")))
                    for index in range(len(id2label))]
    both = f"the model's labels are {', '.join(model_labels)}; the task's are {', '.join(task_labels)}"
    if len(model_labels) != len(task_labels):
        raise LabelMismatch(f"its head has {len(model_labels)} outputs but the task has {len(task_labels)} labels "
                            f"({both})")
    mapping = dict(label_map)
    unknown = sorted(set(mapping.values()) - set(task_labels))
    if unknown:
        raise LabelMismatch(f"label_map names {', '.join(unknown)}, which the task does not have ({both})")
    by_name = {label.casefold(): position for position, label in enumerate(task_labels)}
    order: list[Optional[int]] = [None] * len(task_labels)
    for index, name in enumerate(model_labels):
        target = mapping.get(name, mapping.get(str(index)))
        position = task_labels.index(target) if target is not None else by_name.get(name.casefold())
        if position is None:
            raise LabelMismatch(f"its label {name!r} matches no task label ({both}); map them with `label_map:`")
        if order[position] is not None:
            raise LabelMismatch(f"two of its labels map onto the task's {task_labels[position]!r} ({both})")
        order[position] = index
    resolved = tuple(index for index in order if index is not None)
    return () if resolved == tuple(range(len(task_labels))) else resolved


def head_problem(config: dict[str, Any], kind: Any) -> Optional[str]:
    """Why the model's head does not fit the task's kind (its config's architectures), or None."""
    expected = kind.model_class().__name__.removeprefix("AutoModel")  # e.g. "ForSequenceClassification"
    architectures = config.get("architectures")
    if not isinstance(architectures, list) or not architectures:
        return None  # nothing says: loading will tell
    if any(str(name).endswith(expected) for name in architectures):
        return None
    return (f"its head is {', '.join(map(str, architectures))}, not a {expected[3:]} head for the task's kind "
            f"{kind.name!r}; fine-tune it instead (leave out `as_is: true`)")


def as_is_problems(suite: "Suite", kind: Any, task_labels: Sequence[str]) -> list[SuiteError]:
    """What keeps each as-is model of the suite from serving the task, at its suite line (from configs alone)."""
    problems = []
    for model in suite.models:
        if not model.as_is:
            continue
        try:
            config = read_config(local_directory(model.source, offline_only=True))
        except Exception:
            continue  # a hub model not downloaded yet: checked when its stage loads it
        # A PEFT adapter (no config.json) carries its own head for the task's labels, in the task's order: its
        # base's config says nothing about it, and a head of another size fails when the adapter loads.
        problem = head_problem(config, kind) if config else None
        if problem is None and config:
            try:
                label_order(config, task_labels, model.source.label_map)
            except LabelMismatch as error:
                problem = str(error)
        if problem is not None:
            problems.append(SuiteError(f"model {model.name!r} (as is): {problem}", model.location))
    return problems


def as_is_model(request: TrainRequest) -> TrainedModel:
    """The suite's model as it is, as a finetuner's result: its own directory (a hub model's snapshot), the order
    of its labels, its parameter count; nothing is trained or copied."""
    source = request.base
    directory = local_directory(source)
    config = read_config(directory)
    adapter_of = None
    if (directory / "adapter_config.json").is_file() and not config:
        base = adapter_base(directory, source.adapter_base)
        if not base:
            raise ValueError(f"{directory} is a PEFT adapter that names no base model; give `base:` under the model")
        adapter_of = ModelSource(str(base), str(base), source.max_length, trust_remote_code=source.trust_remote_code,
                                 allow_pickle=source.allow_pickle)
    order = label_order(config, request.data.label_names, source.label_map) if config else ()
    return TrainedModel(model_dir=directory.resolve(), adapter_of=adapter_of, trainable_parameters=0,
                        total_parameters=_parameter_count(directory), train_seconds=0.0, train_examples=0,
                        loaded_as=source, label_order=order)


def _parameter_count(directory: Path) -> int:
    """Parameters in the directory's safetensors files (their headers alone); 0 when there are none."""
    total = 0
    for path in directory.glob("*.safetensors"):
        with path.open("rb") as stream:
            size = int.from_bytes(stream.read(8), "little")
            header = json.loads(stream.read(size))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dimension in entry["shape"]:
                    count *= dimension
                total += count
    return total


def reorder_head(model: Any, order: Sequence[int], label_names: Sequence[str]) -> None:
    """Reorder the output layer's rows so that output i is the task's label i (`order[i]` is its row now)."""
    import torch

    from harness.modeling.architectures import classification_head_parameters

    index = torch.as_tensor(list(order), dtype=torch.long)
    parameters = dict(model.named_parameters())
    for name in classification_head_parameters(model):
        parameter = parameters[name]
        if parameter.shape and parameter.shape[0] == len(order) and name.endswith(("weight", "bias")):
            with torch.no_grad():
                parameter.copy_(parameter[index.to(parameter.device)].clone())
    model.config.id2label = dict(enumerate(label_names))
    model.config.label2id = {name: index for index, name in enumerate(label_names)}
