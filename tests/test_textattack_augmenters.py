"""TextAttack augmenters: offline ones change text reproducibly; the others fail validation with what they need."""

from __future__ import annotations

import pytest

from harness.attack.textattack_augmenters import AUGMENTERS
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.types import StageEnvironment

pytestmark = pytest.mark.textattack

OFFLINE = ("char-edits", "eda", "wordnet-synonyms")
TEXTS = ["the movie was a charming and often affecting journey through a beautiful country .",
         "it is a dull , lifeless film with no heart and a thin plot", "a good film", ""]


@pytest.fixture(scope="module")
def registry():
    return Registry(make_plugin_manager())


def environment(seed, tmp_path):
    return StageEnvironment("cpu", seed, tmp_path, lambda iterable=None, **kwargs: iterable)


def test_every_augmenter_validates_or_says_what_it_needs(registry):
    assert set(AUGMENTERS) <= set(registry.names("augmenter"))
    for name in AUGMENTERS:
        try:
            registry.get("augmenter", name).config_class()
        except ValueError as error:
            assert name not in OFFLINE and "needs resources that are not available" in str(error), (name, error)


@pytest.mark.parametrize("name", OFFLINE)
def test_offline_augmenter_changes_text_reproducibly(name, registry, tmp_path):
    component = registry.get("augmenter", name)
    first = component.factory(component.config_class()).augment(TEXTS, environment(0, tmp_path))
    assert len(first) == len(TEXTS) and first[-1] == ""
    assert sum(out != text for out, text in zip(first, TEXTS)) >= 2, first
    reordered = component.factory(component.config_class()).augment(TEXTS[::-1], environment(0, tmp_path))
    assert reordered[::-1] == first  # a text's augmentation does not depend on the batch
    other_seed = component.factory(component.config_class()).augment(TEXTS, environment(1, tmp_path))
    assert other_seed != first


def test_word_share_is_rejected_for_sentence_level_augmenters(registry):
    config_class = registry.get("augmenter", "back-translation").config_class
    with pytest.raises(ValueError, match="pct_words_to_swap: back-translation rewrites whole sentences"):
        config_class(pct_words_to_swap=0.2)


AUGMENT_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.types import StageEnvironment
component = Registry(make_plugin_manager()).get("augmenter", sys.argv[1])
texts = json.loads(sys.argv[2])
env = StageEnvironment("cpu", 0, Path("."), lambda iterable=None, **kwargs: iterable)
print(json.dumps(component.factory(component.config_class()).augment(texts, env)))
"""


@pytest.mark.parametrize("name", ["eda", "wordnet-synonyms"])
def test_wordnet_augmenters_give_the_same_texts_in_every_process(name, tmp_path):
    """TextAttack orders WordNet candidates by Python's per-process string hashing; the harness sorts them."""
    import json
    import os
    import subprocess
    import sys

    texts = [text for text in TEXTS if text] * 3
    outputs = []
    for hash_seed in ("1", "2"):
        result = subprocess.run([sys.executable, "-c", AUGMENT_IN_A_FRESH_PROCESS, name, json.dumps(texts)],
                                capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": hash_seed},
                                timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        outputs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1]
    assert outputs[0] != texts
