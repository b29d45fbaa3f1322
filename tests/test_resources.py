"""Offline resources: NLTK stopwords shipped, WordNet from Debian, TextAttack's marker, `harness doctor`."""

from __future__ import annotations

import os

import pytest

from harness.cli import main
from harness.core import resources


def test_stopwords_and_textattack_marker(tmp_path, monkeypatch):
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "nltk"))
    monkeypatch.setenv("TA_CACHE_DIR", str(tmp_path / "ta"))
    for flag in resources.OFFLINE_FLAGS:
        monkeypatch.delenv(flag, raising=False)
    monkeypatch.setattr(resources, "DEBIAN_WORDNET", tmp_path / "no-wordnet")
    resources.prepare_offline_resources(needs_hub=False)
    words = (tmp_path / "nltk" / "corpora" / "stopwords" / "english").read_text().split()
    assert len(words) == 179 and "the" in words
    assert (tmp_path / "ta" / resources.TEXTATTACK_MARKER).exists()
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.skipif(not (resources.DEBIAN_WORDNET / "data.noun").exists(), reason="Debian wordnet-base not installed")
def test_wordnet_from_debian_is_readable_by_nltk(tmp_path):
    assert resources.install_wordnet(tmp_path)
    assert len((tmp_path / "corpora" / "wordnet" / "lexnames").read_text().splitlines()) == 45
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    nltk.data.path.insert(0, str(tmp_path))  # NLTK 3.10 reads corpora only under nltk.data.path
    try:
        reader = WordNetCorpusReader(nltk.data.find("corpora/wordnet"), None)
        assert "good" in {lemma.name() for synset in reader.synsets("good") for lemma in synset.lemmas()}
    finally:
        nltk.data.path.remove(str(tmp_path))


def test_doctor_lists_resources(capsys):
    assert main(["doctor"]) == 0
    output = capsys.readouterr().out
    for name in ("NLTK stopwords", "WordNet", "MiniLM", "BBC News", "Hugging Face Hub", "CUDA"):
        assert name in output


@pytest.mark.textattack
def test_textattack_wordnet_builds_without_reaching_for_the_network(capfd, monkeypatch):
    from harness.core.resources import prepare_nltk_and_textattack, without_needless_nltk_downloads

    prepare_nltk_and_textattack()
    import nltk
    from textattack.transformations import WordSwapWordNet

    network_downloads = []
    monkeypatch.setattr(nltk, "download", lambda *args, **kwargs: network_downloads.append(args) or False)
    original = nltk.download
    with without_needless_nltk_downloads():
        WordSwapWordNet()  # calls nltk.download("omw-1.4") on every build
        assert nltk.download("stopwords") is True  # installed by the harness: nothing to fetch
        nltk.download("some-package-not-here")  # anything else still goes to NLTK
    assert network_downloads == [("some-package-not-here",)]
    assert nltk.download is original
    assert "Error loading" not in capfd.readouterr().err
