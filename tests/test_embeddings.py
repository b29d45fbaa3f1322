"""Local word vectors become TextAttack's counter-fitted embeddings, loadable by TextAttack's own loader."""

from __future__ import annotations

import numpy as np
import pytest

from harness.cli import main
from harness.core.errors import HarnessError
from harness.modeling.embeddings import import_word_embeddings, nearest_neighbours

VECTORS = """5 3
good 1.0 0.1 0.0
great 0.9 0.2 0.0
fine 0.8 0.3 0.1
bad -1.0 0.0 0.1
awful -0.9 -0.1 0.2
"""


def test_nearest_neighbours_put_the_word_first_then_by_cosine():
    matrix = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], dtype=np.float32)
    neighbours = nearest_neighbours(matrix, 2, chunk=2)
    assert neighbours[:, 0].tolist() == [0, 1, 2, 3]
    assert neighbours[0, 1] == 1 and neighbours[3, 1] != 0


@pytest.mark.textattack
def test_imported_vectors_load_through_textattack(tmp_path, monkeypatch):
    source = tmp_path / "vectors.txt"
    source.write_text(VECTORS, encoding="utf-8")
    destination = tmp_path / "paragramcf"
    assert import_word_embeddings(source, destination, neighbours=3) == 5

    from harness.core.resources import prepare_nltk_and_textattack

    prepare_nltk_and_textattack()
    from textattack.shared import word_embeddings

    monkeypatch.setattr(word_embeddings.utils, "download_from_s3", lambda folder: str(destination))
    monkeypatch.delitem(word_embeddings.utils.GLOBAL_OBJECTS, "textattack_counterfitted_GLOVE_embedding", raising=False)
    embedding = word_embeddings.WordEmbedding.counterfitted_GLOVE_embedding()
    monkeypatch.delitem(word_embeddings.utils.GLOBAL_OBJECTS, "textattack_counterfitted_GLOVE_embedding")
    nearest = embedding.nearest_neighbours(embedding.word2index("good"), 2)
    neighbours = [embedding.index2word(index) for index in nearest]
    assert neighbours == ["great", "fine"]
    assert embedding.get_cos_sim("good", "great") > embedding.get_cos_sim("good", "bad")


def test_malformed_file_names_the_line(tmp_path):
    source = tmp_path / "vectors.txt"
    source.write_text("good 1.0 2.0\nbad 1.0\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"vectors.txt:2: vector has 1 components"):
        import_word_embeddings(source, tmp_path / "out", 2)


def test_cli_reports_missing_file(tmp_path, capsys):
    assert main(["import-embeddings", str(tmp_path / "absent.txt")]) == 2
    assert "not found" in capsys.readouterr().err
