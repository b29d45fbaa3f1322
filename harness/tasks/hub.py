"""Task data from the Hugging Face hub: datasets.load_dataset, or an error telling the user to set `path:` to a local
copy; the hub's rows checked against the TaskSource's columns and labels. Part of harness.tasks.sources."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from harness.core.errors import HarnessError
from harness.tasks.readers import RawSplit
from harness.tasks.spec import TaskSource


def hub_dataset_name(hub_name: str, hub_config: Optional[str] = None, revision: Optional[str] = None) -> str:
    """How messages name a hub dataset: `nyu-mll/glue (sst2) @ REVISION`."""
    return hub_name + (f" ({hub_config})" if hub_config else "") + (f" @ {revision}" if revision else "")


def download_from_hub(task_name: str, hub_name: str, hub_config: Optional[str], revision: Optional[str],
                      layout_help: str) -> tuple[Any, str]:
    """`datasets.load_dataset(hub_name, hub_config)`, or a HarnessError telling the user to set `path:` (no network,
    or the hub refused); returns the DatasetDict and how to name it in messages."""
    from harness.core import resources

    shown = hub_dataset_name(hub_name, hub_config, revision)
    advice = f"set `path:` to a local copy: {layout_help}"
    offline = resources.offline_mode()
    if not offline and not resources.hub_reachable():
        raise HarnessError(f"task {task_name!r}: no `path:` is set and the Hugging Face hub (huggingface.co) "
                           f"cannot be reached, so {shown} cannot be downloaded; {advice}")
    try:
        import datasets

        # In offline mode (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) datasets reads its cache, if it has the data.
        loaded = datasets.load_dataset(hub_name, hub_config, revision=revision)
    except Exception as error:
        reason = "offline mode is on, so only the datasets cache could answer; " if offline else ""
        raise HarnessError(f"task {task_name!r}: cannot load {shown} from the Hugging Face hub ({reason}"
                           f"{type(error).__name__}: {error}); {advice}") from error
    return loaded, shown


def hub_splits(task_name: str, hub_name: str, hub_config: Optional[str], revision: Optional[str], layout_help: str,
               splits: Mapping[str, str], columns: Sequence[str], column_help: str,
               optional: Sequence[str] = ()) -> tuple[list[tuple[str, Any, str]], str]:
    """Download a hub dataset and check it has every split of `splits` (the task's split -> the hub's) and every
    column of `columns`: (task split, the hub split's Dataset, how messages name it) per split, and how messages
    name the dataset. A missing split or column is a HarnessError saying what the dataset has; `column_help` says
    what to do about a missing column. A task split in `optional` the dataset lacks is left out instead."""
    loaded, shown = download_from_hub(task_name, hub_name, hub_config, revision, layout_help)
    available = list(loaded.keys()) if hasattr(loaded, "keys") else []
    found = []
    for task_split, hub_split in splits.items():
        if hub_split not in available and task_split in optional:
            continue
        if hub_split not in available:
            raise HarnessError(f"task {task_name!r}: {shown} has no {hub_split!r} split (it has "
                               f"{', '.join(available) or 'none'}); set `path:` to local files")
        dataset, origin = loaded[hub_split], f"{shown} {hub_split}"
        missing = [column for column in columns if column not in dataset.column_names]
        if missing:
            raise HarnessError(f"task {task_name!r}: {origin} has no column {', '.join(missing)} (its columns: "
                               f"{', '.join(dataset.column_names)}); {column_help}")
        found.append((task_split, dataset, origin))
    return found, shown


def hub_rows(source: TaskSource, hub_name: str, revision: Optional[str]) -> tuple[dict[str, RawSplit], str]:
    loaded, shown = download_from_hub(source.name, hub_name, source.hub_config, revision, source.layout_help())
    available = list(loaded.keys()) if hasattr(loaded, "keys") else []
    missing = [split for split in source.needed_splits() if split not in available]
    if missing:
        raise HarnessError(f"task {source.name!r}: {shown} has no {' or '.join(map(repr, missing))} split (it has "
                           f"{', '.join(available) or 'none'}); set hub_name to a dataset with the same splits, or "
                           f"`path:` to local files")
    return ({split: _hub_split(source, shown, split, loaded[split]) for split in source.needed_splits()},
            f"the hub: {shown}")


def _hub_split(source: TaskSource, shown: str, split: str, dataset: Any) -> RawSplit:
    wanted = [*source.text_columns, source.label_column]
    wanted += [column for column in (source.rationale_column, source.id_column) if column]
    columns = list(dataset.column_names)
    missing = [column for column in wanted if column not in columns]
    if missing:
        raise HarnessError(f"task {source.name!r}: {shown} {split} split has no column {', '.join(missing)} (its "
                           f"columns: {', '.join(columns)}); set hub_name to a dataset with the same columns")
    expected = source.hub_label_names or source.label_names
    names = getattr(dataset.features.get(source.label_column), "names", None)
    if names is not None and tuple(names) != tuple(expected):
        raise HarnessError(f"task {source.name!r}: {shown} labels are {list(names)}, but the task's are "
                           f"{list(expected)} (in this order); pin a `revision` with the expected labels")
    data = dataset.select_columns(wanted).to_dict()
    rows = tuple(dict(zip(wanted, values)) for values in zip(*(data[column] for column in wanted)))
    return RawSplit(f"{shown} {split}", rows)
