"""Task plugins: local files (small copies written by the tests in each dataset's release layout), the hub path
(datasets.load_dataset replaced by small DatasetDicts with the hub's exact schema), the same Examples either way,
and the offline error. The same loaders on the full real copies: tests/shared_data (opt-in)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from fixture_data import (
    ADVGLUE_SIZES,
    AG_NEWS_SIZES,
    SST2_SIZES,
    read_sst2_tsv,
    write_acl_imdb,
    write_ag_news_csv,
    write_ag_news_tsv,
    write_glue_mnli,
    write_glue_pair_tasks,
    write_rt_polarity,
)

from harness import HarnessError
from harness.cli import main
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.testing import build_component, check_task


def task(name: str, **params):
    """The task built as a run builds it (a fresh plugin manager, params checked like `harness validate`)."""
    return build_component(Registry(make_plugin_manager()), "task", name, params)


def load(name: str, **params):
    return task(name, **params).load(None)


def examples(data):
    return data.train, data.validation, data.test


def sizes(data):
    return len(data.train), len(data.validation), len(data.test)


# ----------------------------------------------------------------------------------------------- local data


def test_sst2_from_the_resplit_layout(release_data):
    folder = release_data / "sst2"
    data = check_task(task("sst2", path=str(folder)))  # the contract kit: also loads twice, same data
    # train.tsv + dev.tsv = GLUE train (10% held out again, seeded), test.tsv = GLUE dev.
    train_rows = read_sst2_tsv(folder / "train.tsv") + read_sst2_tsv(folder / "dev.tsv")
    assert len(train_rows) == SST2_SIZES["train"] + SST2_SIZES["dev"] == 1000
    assert sizes(data) == (900, 100, SST2_SIZES["test"])
    assert data.label_names == ("negative", "positive") and data.text_fields == ("sentence",)
    assert sorted((e.text, e.label) for e in data.test) == sorted(read_sst2_tsv(folder / "test.tsv"))
    assert sorted((e.text, e.label) for e in data.train + data.validation) == sorted(train_rows)
    assert [e.text for e in data.train[:20]] != [text for text, _ in train_rows[:20]]  # seeded order
    assert all(e.id.startswith("sst2-") and e.text_pair is None for e in data.test)


def test_rotten_tomatoes_from_the_rt_polarity_release(tmp_path):
    # The Cornell tarball unpacks to rt-polaritydata/ with Latin-1 files; a path to the folder above it works too.
    release = write_rt_polarity(tmp_path / "release" / "rt-polaritydata", per_class=53)
    data = check_task(task("rotten-tomatoes", path=str(tmp_path / "release")))
    # The hub's split, made as its loading script makes it: per polarity int(53 * 0.8 + 0.5) = 42 lines train,
    # up to int(53 * 0.9 + 0.5) = 48 validation, the remaining 5 test.
    assert sizes(data) == (84, 12, 10)
    assert data.label_names == ("neg", "pos") and data.text_fields == ("text",)
    for split, per_class in zip(examples(data), (42, 6, 5)):
        assert sum(e.label for e in split) == per_class  # balanced
    positive = (release / "rt-polarity.pos").read_bytes().decode("latin-1").splitlines()
    assert [e.text for e in data.train if e.label == 1] != positive[:42]  # seeded order, not file order
    assert sorted(e.text for e in data.train if e.label == 1) == sorted(line.strip() for line in positive[:42])
    assert any("é" in e.text for e in data.train)  # Latin-1 decoded
    # A UTF-8 re-encoding of the release (as some redistributions have it) gives the same examples.
    utf8 = write_rt_polarity(tmp_path / "utf-8", per_class=53, encoding="utf-8")
    assert (utf8 / "rt-polarity.pos").read_bytes() != (release / "rt-polarity.pos").read_bytes()
    assert examples(load("rotten-tomatoes", path=str(utf8))) == examples(data)


def test_ag_news_from_the_tsv_files_and_the_original_csv(tmp_path):
    tsv = write_ag_news_tsv(tmp_path / "tsv")  # the train split in dev.tsv, as in the shared copy
    data = check_task(task("ag-news", path=str(tsv)))
    per_class = AG_NEWS_SIZES["train"]
    # No validation split of its own: 10% of the train split is held out.
    assert len(data.train) + len(data.validation) == 4 * per_class and len(data.validation) == round(0.4 * per_class)
    assert len(data.test) == 4 * AG_NEWS_SIZES["test"]
    assert data.label_names == ("World", "Sports", "Business", "Sci/Tech")
    assert {e.label for e in data.test} == {0, 1, 2, 3}
    assert all(e.text_pair is None and len(e.text.split()) > 8 for e in data.test)  # title + lead paragraph
    # The train split spread over train.tsv and dev.tsv, and the original release's quoted CSV files
    # ("class index","title","description": text = title + " " + description, as on the hub): the same examples.
    split = write_ag_news_tsv(tmp_path / "split", train_files=("train.tsv", "dev.tsv"))
    assert examples(load("ag-news", path=str(split))) == examples(data)
    original = write_ag_news_csv(tmp_path / "csv")
    assert '""' in (original / "train.csv").read_text(encoding="utf-8")  # quotes inside a field, doubled
    assert examples(load("ag-news", path=str(original))) == examples(data)


def test_imdb_from_the_acl_imdb_release(hub, tmp_path):
    import datasets

    folder = write_acl_imdb(tmp_path, train_per_class=6, test_per_class=4)
    data = check_task(task("imdb", path=str(tmp_path)))  # the folder holding aclImdb/
    assert sizes(data) == (11, 1, 8)  # train/unsup is not read; 10% of train held out
    assert data.label_names == ("neg", "pos") and {e.label for e in data.test} == {0, 1}
    reviews = {(path.read_text(encoding="utf-8"), int(path.parent.name == "pos"))
               for path in folder.glob("t*/[pn]*/*.txt")}
    assert {(e.text, e.label) for e in data.train + data.validation + data.test} == reviews  # verbatim
    assert any("<br /><br />" in e.text for e in data.test)
    assert examples(load("imdb", path=str(folder))) == examples(data)
    # The hub's rows are the files' contents: the same examples, ids and order.
    rows = {split: [{"text": path.read_text(encoding="utf-8"), "label": int(path.parent.name == "pos")}
                    for path in sorted(folder.glob(f"{split}/[pn]*/*.txt"))] for split in ("train", "test")}
    rows["unsupervised"] = [{"text": "unlabelled", "label": -1}]
    hub.datasets["stanfordnlp/imdb", None] = datasets.DatasetDict({
        split: datasets.Dataset.from_dict(
            {"text": [row["text"] for row in split_rows], "label": [row["label"] for row in split_rows]},
            features=datasets.Features({"text": datasets.Value("string"),
                                        "label": datasets.ClassLabel(names=["neg", "pos"])}))
        for split, split_rows in rows.items() if split != "unsupervised"})
    assert examples(load("imdb")) == examples(data)


@pytest.fixture(scope="module")
def glue_pairs(tmp_path_factory) -> Path:
    """Tiny GLUE-format train.tsv files (GLUE's own column layouts) for the pair tasks: QNLI/ and MNLI/."""
    return write_glue_pair_tasks(tmp_path_factory.mktemp("glue"), rows=20)


def test_advglue_task_from_its_dev_json(release_data, glue_pairs):
    check_advglue_task_files(release_data / "advglue" / "dev.json", release_data / "sst2", glue_pairs,
                             sst2_train_validation=(900, 100), test_sizes=ADVGLUE_SIZES)
    mismatched = check_task(task("advglue", subset="mnli-mm", path=str(release_data / "advglue" / "dev.json"),
                                 glue_path=str(glue_pairs / "MNLI")))
    assert sizes(mismatched)[:2] == (27, 3)


def check_advglue_task_files(dev_json: Path, sst2_folder: Path, glue_pairs: Path,
                             sst2_train_validation: tuple[int, int], test_sizes: dict[str, int]) -> None:
    """The advglue task on a dev.json (the written one, or the real one in tests/shared_data): sizes, ids, texts
    and labels of the sst2, qnli (a folder holding dev.json) and mnli-mm subsets."""
    items = json.loads(dev_json.read_text(encoding="utf-8"))
    sst2 = check_task(task("advglue", subset="sst2", path=str(dev_json), glue_path=str(sst2_folder)))
    assert sizes(sst2) == (*sst2_train_validation, test_sizes["sst2"]) and sst2.label_names == ("negative", "positive")
    assert sorted(e.id for e in sst2.test) == sorted(f"advglue-sst2-{item['idx']}" for item in items["sst2"])
    assert sst2.name == "advglue-sst2" and sst2.text_fields == ("sentence",)

    qnli = check_task(task("advglue", subset="qnli", path=str(dev_json.parent), glue_path=str(glue_pairs / "QNLI")))
    assert len(qnli.test) == test_sizes["qnli"] and qnli.text_fields == ("question", "sentence")
    assert qnli.label_names == ("entailment", "not_entailment") and sizes(qnli)[:2] == (18, 2)
    by_id = {e.id: e for e in qnli.test}
    for item in items["qnli"]:
        example = by_id[f"advglue-qnli-{item['idx']}"]
        assert (example.text, example.text_pair, example.label) == (item["question"], item["sentence"], item["label"])
    assert any('"' in e.text_pair for e in qnli.train)  # GLUE's TSVs are read unquoted

    mismatched = check_task(task("advglue", subset="mnli-mm", path=str(dev_json), glue_path=str(glue_pairs / "MNLI")))
    assert len(mismatched.test) == test_sizes["mnli-mm"]
    assert mismatched.label_names == ("entailment", "neutral", "contradiction")
    assert mismatched.text_fields == ("premise", "hypothesis") and all(e.text_pair for e in mismatched.test)


def test_advglue_task_ids_match_the_attack_records(release_data):
    from harness.tasks.sources import load_splits
    from harness_plugins.advglue import AdvGlueAttack, AdvGlueConfig, advglue_source

    dev_json = release_data / "advglue" / "dev.json"
    attack_items = AdvGlueAttack(AdvGlueConfig(task="rte", path=str(dev_json))).items()
    test, _ = load_splits(advglue_source("rte"), path=str(dev_json))
    assert [e.id for e in test["validation"]] == [f"advglue-rte-{item.idx}" for item in attack_items]
    assert len(attack_items) == ADVGLUE_SIZES["rte"]


def test_bbc_news_from_its_package():
    data = check_task(task("bbc-news"))
    assert sum(sizes(data)) == 2225 and len(data.label_names) == 5 and data.text_fields == ("text",)


# ----------------------------------------------------------------------------------------------- the hub path


@pytest.fixture
def hub(monkeypatch):
    """datasets.load_dataset answering from `hub.datasets` (keyed by (path, config)); the hub is 'reachable'."""
    import datasets

    from harness.core import resources

    class FakeHub:
        def __init__(self):
            self.datasets, self.calls = {}, []

        def load_dataset(self, path, name=None, **kwargs):
            self.calls.append((path, name, kwargs))
            if (path, name) not in self.datasets:
                raise FileNotFoundError(f"Dataset '{path}' doesn't exist on the Hub")
            return self.datasets[path, name]

    fake = FakeHub()
    monkeypatch.setattr(datasets, "load_dataset", fake.load_dataset)
    monkeypatch.setattr(resources, "offline_mode", lambda: False)
    monkeypatch.setattr(resources, "hub_reachable", lambda timeout=1.5: True)
    return fake


def dataset_dict(features: dict, splits: dict[str, list[dict]]):
    import datasets

    features = datasets.Features(features)
    return datasets.DatasetDict({
        split: datasets.Dataset.from_dict({column: [row[column] for row in rows] for column in features},
                                          features=features)
        for split, rows in splits.items()})


def glue_features(*columns: str, labels: tuple[str, ...]) -> dict:
    import datasets

    return {**{column: datasets.Value("string") for column in columns},
            "label": datasets.ClassLabel(names=list(labels)), "idx": datasets.Value("int32")}


SST2_ROWS = {
    "train": [("a gorgeous , witty , seductive movie . ", 1), ("tedious ", 0), ("tedious ", 0),
              ("the plot is thin ", 0), ("one of the year 's best ", 1), ("a \"quoted\" phrase ", 1),
              ("flat ", 0), ("moving ", 1),
              ("dull , lifeless ", 0), ("superb acting ", 1), ("a mess ", 0), ("charming ", 1)],
    "validation": [("it 's a charming and often affecting journey . ", 1), ("unflinchingly bleak and desperate ", 0),
                   ("allows us to hope ", 1)],
}


def test_sst2_hub_and_glue_files_give_identical_examples(hub, tmp_path):
    hub.datasets["nyu-mll/glue", "sst2"] = dataset_dict(
        glue_features("sentence", labels=("negative", "positive")),
        {split: [{"sentence": text, "label": label, "idx": i} for i, (text, label) in enumerate(rows)]
         for split, rows in {**SST2_ROWS, "test": [("unlabelled ", 0)]}.items()})
    from_hub = check_task(task("sst2", validation_fraction=0.25))
    assert hub.calls[0][:2] == ("nyu-mll/glue", "sst2") and hub.calls[0][2] == {"revision": None}
    assert sizes(from_hub) == (9, 3, 3)  # 12 GLUE train rows, a quarter held out; test = GLUE validation
    assert from_hub.label_names == ("negative", "positive") and from_hub.text_fields == ("sentence",)
    assert len({e.id for e in from_hub.train + from_hub.validation}) == 12  # the repeated row gets "-2"
    assert any(e.id.endswith("-2") for e in from_hub.train + from_hub.validation)

    # The same rows as GLUE distributes them (test.tsv unlabelled), shuffled: the same examples, ids and order.
    folder = tmp_path / "SST-2"
    folder.mkdir()
    for name, rows in (("train.tsv", SST2_ROWS["train"]), ("dev.tsv", SST2_ROWS["validation"])):
        shuffled = rows[:]
        random.Random(1).shuffle(shuffled)
        (folder / name).write_text("sentence\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in shuffled),
                                   encoding="utf-8")
    (folder / "test.tsv").write_text("index\tsentence\n0\tunlabelled \n", encoding="utf-8")
    from_files = load("sst2", path=str(folder), validation_fraction=0.25)
    assert examples(from_files) == examples(from_hub)
    assert (from_files.label_names, from_files.text_fields) == (from_hub.label_names, from_hub.text_fields)
    assert "the hub: nyu-mll/glue (sst2)" in from_hub.description and str(folder) in from_files.description

    # The re-split layout (../shared/data/sst2): train.tsv + dev.tsv = GLUE train, labelled test.tsv = GLUE dev.
    resplit = tmp_path / "resplit"
    resplit.mkdir()
    train = SST2_ROWS["train"]
    for name, rows in (("train.tsv", train[:8]), ("dev.tsv", train[8:]), ("test.tsv", SST2_ROWS["validation"])):
        (resplit / name).write_text("sentence\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in rows),
                                    encoding="utf-8")
    assert examples(load("sst2", path=str(resplit), validation_fraction=0.25)) == examples(from_hub)
    assert examples(load("sst2", validation_fraction=0.25, split_seed=1)) != examples(from_hub)


MNLI_ROWS = {
    "train": [("A man plays guitar.", "A person makes music.", "entailment"),
              ("A man plays guitar.", "The man is asleep.", "contradiction"),
              ("Kids play outside.", "It is sunny.", "neutral"),
              ("Kids play outside.", "Children are outdoors.", "entailment")],
    "validation_matched": [("The cat sat.", "An animal sat.", "entailment"),
                           ("The cat sat.", "The dog ran.", "contradiction")],
    "validation_mismatched": [("Tax rates rose.", "Taxes went up.", "entailment"),
                              ("Tax rates rose.", "Nobody pays tax.", "contradiction"),
                              ("Tax rates rose.", "Voters were angry.", "neutral")],
}
NLI_LABELS = ("entailment", "neutral", "contradiction")


def test_mnli_pairs_from_the_hub_and_from_glue_files(hub, tmp_path):
    hub.datasets["nyu-mll/glue", "mnli"] = dataset_dict(
        glue_features("premise", "hypothesis", labels=NLI_LABELS),
        {split: [{"premise": p, "hypothesis": h, "label": NLI_LABELS.index(label), "idx": i}
                 for i, (p, h, label) in enumerate(rows)] for split, rows in MNLI_ROWS.items()})
    matched = load("mnli", validation_fraction=0.25)
    assert sizes(matched) == (3, 1, 2) and matched.text_fields == ("premise", "hypothesis")
    assert {(e.text, e.text_pair, e.label) for e in matched.test} == {
        ("The cat sat.", "An animal sat.", 0), ("The cat sat.", "The dog ran.", 2)}
    mismatched = load("mnli", test_set="mismatched", validation_fraction=0.25)
    assert {e.text for e in mismatched.test} == {"Tax rates rose."} and mismatched.train == matched.train

    write_glue_mnli(tmp_path, {"train.tsv": MNLI_ROWS["train"], "dev_matched.tsv": MNLI_ROWS["validation_matched"],
                               "dev_mismatched.tsv": MNLI_ROWS["validation_mismatched"]})
    assert examples(load("mnli", path=str(tmp_path), validation_fraction=0.25)) == examples(matched)
    assert examples(load("mnli", path=str(tmp_path), test_set="mismatched",
                         validation_fraction=0.25)) == examples(mismatched)


def test_snli_drops_pairs_without_a_gold_label(hub, tmp_path):
    rows = {"train": [("A dog runs.", "An animal moves.", 0), ("A dog runs.", "A cat sleeps.", 2),
                      ("A dog runs.", "It is a race.", -1), ("Two men talk.", "People speak.", 0)],
            "validation": [("A girl reads.", "Someone reads.", 0), ("A girl reads.", "She sings.", -1)],
            "test": [("Rain falls.", "It is wet.", 1), ("Rain falls.", "It is dry.", 2)]}
    import datasets

    features = {"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                "label": datasets.ClassLabel(names=list(NLI_LABELS))}
    hub.datasets["stanfordnlp/snli", None] = dataset_dict(
        features, {split: [{"premise": p, "hypothesis": h, "label": label} for p, h, label in split_rows]
                   for split, split_rows in rows.items()})
    from_hub = check_task(task("snli"))
    assert sizes(from_hub) == (3, 1, 2) and "without a gold label dropped" in from_hub.description
    # SNLI's own distribution: snli_1.0_*.jsonl with sentence1, sentence2, gold_label ("-": no consensus).
    for split, name in (("train", "train"), ("validation", "dev"), ("test", "test")):
        (tmp_path / f"snli_1.0_{name}.jsonl").write_text("".join(
            json.dumps({"sentence1": p, "sentence2": h, "gold_label": "-" if label < 0 else NLI_LABELS[label],
                        "annotator_labels": ["neutral"]}) + "\n" for p, h, label in rows[split]), encoding="utf-8")
    assert examples(load("snli", path=str(tmp_path))) == examples(from_hub)


def test_rotten_tomatoes_hub_split_equals_the_release_split(hub, tmp_path):
    import datasets

    positive = [f"good film number {i} ." for i in range(10)]
    negative = [f"bad film number {i} . café" for i in range(10)]
    (tmp_path / "rt-polarity.pos").write_bytes("".join(f"{line} \n" for line in positive).encode("latin-1"))
    (tmp_path / "rt-polarity.neg").write_bytes("".join(f"{line}\n" for line in negative).encode("latin-1"))
    # The hub's loading script: per polarity, int(n * 0.8 + 0.5) train, up to int(n * 0.9 + 0.5) validation.
    splits = {"train": (0, 8), "validation": (8, 9), "test": (9, 10)}
    hub.datasets["cornell-movie-review-data/rotten_tomatoes", None] = dataset_dict(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])},
        {split: [{"text": t, "label": 1} for t in positive[a:b]] + [{"text": t, "label": 0} for t in negative[a:b]]
         for split, (a, b) in splits.items()})
    from_hub = check_task(task("rotten-tomatoes"))
    from_files = check_task(task("rotten-tomatoes", path=str(tmp_path)))  # Latin-1 decoded, lines stripped
    assert sizes(from_hub) == (16, 2, 2) and examples(from_files) == examples(from_hub)


def test_yelp_hub_labels_1_2_and_the_original_csv(hub, tmp_path):
    import datasets

    rows = {"train": [("Great tacos!", 1), ("Cold food, rude staff.", 0), ("Loved it", 1), ("Never again", 0)],
            "test": [("Best \\\"burger\\\" in town\\nwow", 1), ("Meh.", 0)]}
    hub.datasets["fancyzhx/yelp_polarity", None] = dataset_dict(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["1", "2"])},
        {split: [{"text": t, "label": label} for t, label in split_rows] for split, split_rows in rows.items()})
    from_hub = check_task(task("yelp-polarity", validation_fraction=0.25))
    assert from_hub.label_names == ("negative", "positive") and sizes(from_hub) == (3, 1, 2)
    for split, split_rows in rows.items():
        (tmp_path / f"{split}.csv").write_text(
            "".join(f'"{label + 1}","{text}"\n' for text, label in split_rows), encoding="utf-8")
    assert examples(load("yelp-polarity", path=str(tmp_path), validation_fraction=0.25)) == examples(from_hub)


def test_tweet_eval_subset_from_the_hub_and_the_repository_files(hub, tmp_path):
    import datasets

    rows = {"train": [("I love this!", 2), ("meh", 1), ("worst day ever", 0)], "validation": [("ok then", 1)],
            "test": [("so happy", 2), ("so sad", 0)]}
    hub.datasets["cardiffnlp/tweet_eval", "sentiment"] = dataset_dict(
        {"text": datasets.Value("string"),
         "label": datasets.ClassLabel(names=["negative", "neutral", "positive"])},
        {split: [{"text": t, "label": label} for t, label in split_rows] for split, split_rows in rows.items()})
    from_hub = check_task(task("tweet-eval", subset="sentiment"))
    assert from_hub.name == "tweet-eval-sentiment" and from_hub.label_names == ("negative", "neutral", "positive")
    folder = tmp_path / "datasets" / "sentiment"
    folder.mkdir(parents=True)
    for split, stem in (("train", "train"), ("validation", "val"), ("test", "test")):
        (folder / f"{stem}_text.txt").write_text("".join(f"{t} \n" for t, _ in rows[split]), encoding="utf-8")
        (folder / f"{stem}_labels.txt").write_text("".join(f"{label}\n" for _, label in rows[split]),
                                                   encoding="utf-8")
    assert examples(load("tweet-eval", subset="sentiment", path=str(tmp_path / "datasets"))) == examples(from_hub)
    with pytest.raises(HarnessError, match="tweet-eval-emotion.*labels are"):
        hub.datasets["cardiffnlp/tweet_eval", "emotion"] = hub.datasets["cardiffnlp/tweet_eval", "sentiment"]
        load("tweet-eval", subset="emotion")


def test_movie_rationales_evidence_becomes_character_spans(hub, tmp_path):
    import datasets

    review = "this film is a joy .\nthe cast is superb and\nthe score soars .\n"
    rows = {"train": [{"review": review, "label": 1, "evidences": ["is a joy", "superb and the score"]},
                      {"review": "dull and long .\n", "label": 0, "evidences": ["dull", "not in the text"]}],
            "validation": [{"review": "fine .\n", "label": 1, "evidences": []}],
            "test": [{"review": "a mess , a bore .\n", "label": 0, "evidences": ["a bore"]}]}
    hub.datasets["eraser-benchmark/movie_rationales", None] = dataset_dict(
        {"review": datasets.Value("string"), "label": datasets.ClassLabel(names=["NEG", "POS"]),
         "evidences": datasets.List(datasets.Value("string"))}, rows)
    from_hub = check_task(task("movie-rationales"))
    joy = next(e for e in from_hub.train if e.label == 1)
    assert [joy.text[start:end] for start, end in joy.rationale] == ["is a joy", "superb and\nthe score"]
    dull = next(e for e in from_hub.train if e.label == 0)
    assert dull.rationale == ((0, 4),)  # a phrase found nowhere is left out
    assert from_hub.validation[0].rationale is None and "1 examples without a rationale" in from_hub.description
    for split, split_rows in rows.items():
        name = "dev" if split == "validation" else split
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in split_rows),
                                                encoding="utf-8")
    assert examples(load("movie-rationales", path=str(tmp_path))) == examples(from_hub)


def test_advglue_task_from_the_hub(hub):
    labels = ("entailment", "not_entailment")
    hub.datasets["AI-Secure/adv_glue", "adv_qnli"] = dataset_dict(
        glue_features("question", "sentence", labels=labels),
        {"validation": [{"question": "Wh at is it?", "sentence": "It is a test .", "label": 0, "idx": 7},
                        {"question": "Who won?", "sentence": "Noone competed .", "label": 1, "idx": 9}]})
    hub.datasets["nyu-mll/glue", "qnli"] = dataset_dict(
        glue_features("question", "sentence", labels=labels),
        {"train": [{"question": f"q{i}?", "sentence": f"s{i}.", "label": i % 2, "idx": i} for i in range(10)],
         "validation": [{"question": "q?", "sentence": "s.", "label": 0, "idx": 0}]})
    data = check_task(task("advglue", subset="qnli"))
    assert sizes(data) == (9, 1, 2) and {e.id for e in data.test} == {"advglue-qnli-7", "advglue-qnli-9"}
    assert [call[:2] for call in hub.calls[:2]] == [("nyu-mll/glue", "qnli"), ("AI-Secure/adv_glue", "adv_qnli")]


def test_hub_dataset_with_other_columns_or_splits_is_a_clear_error(hub):
    import datasets

    hub.datasets["SetFit/sst5", None] = dataset_dict(
        {"sentence": datasets.Value("string"), "label": datasets.Value("int64")},
        {"train": [{"sentence": "x", "label": 1}], "test": [{"sentence": "y", "label": 2}]})
    with pytest.raises(HarnessError, match=r"task 'sst5'.*no 'validation' split \(it has train, test\)"):
        load("sst5")
    hub.datasets["SetFit/sst5", None]["validation"] = hub.datasets["SetFit/sst5", None]["test"]
    with pytest.raises(HarnessError, match=r"task 'sst5'.*no column text \(its columns: sentence, label\)"):
        load("sst5")


# ----------------------------------------------------------------------------------------------- offline


def test_offline_without_path_is_a_clear_error(monkeypatch):
    import datasets

    from harness.core import resources

    def must_not_be_called(*args, **kwargs):
        raise AssertionError("the hub must not be tried when it is unreachable")

    monkeypatch.setattr(datasets, "load_dataset", must_not_be_called)
    monkeypatch.setattr(resources, "offline_mode", lambda: False)
    monkeypatch.setattr(resources, "hub_reachable", lambda timeout=1.5: False)
    with pytest.raises(HarnessError) as raised:
        load("sst2")
    message = str(raised.value)
    assert "task 'sst2'" in message and "cannot be reached" in message and "nyu-mll/glue (sst2)" in message
    assert "set `path:` to a local copy" in message and "train.tsv" in message and "sentence<TAB>label" in message

    # Offline mode (HF_HUB_OFFLINE=1): datasets may answer from its cache; when it cannot, the same advice.
    def cache_miss(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'fancyzhx/ag_news' on the Hub (offline mode is enabled)")

    monkeypatch.setattr(datasets, "load_dataset", cache_miss)
    monkeypatch.setattr(resources, "offline_mode", lambda: True)
    with pytest.raises(HarnessError, match=r"task 'ag-news': cannot load fancyzhx/ag_news .*offline mode.*"
                                           r"set `path:` to a local copy: test.tsv plus train.tsv"):
        load("ag-news")


def test_unreadable_local_folder_lists_the_layouts(tmp_path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"task 'rotten-tomatoes': cannot read .*rt-polarity.pos and "
                                           r"rt-polarity.neg.*or a folder with one file per split.*found: notes.txt"):
        load("rotten-tomatoes", path=str(tmp_path))
    (tmp_path / "train.jsonl").write_text(json.dumps({"text": "fine", "label": "great"}) + "\n", encoding="utf-8")
    (tmp_path / "test.jsonl").write_text(json.dumps({"text": "fine", "label": 1}) + "\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"no validation split"):
        load("rotten-tomatoes", path=str(tmp_path))
    (tmp_path / "dev.jsonl").write_text(json.dumps({"text": "fine", "label": 1}) + "\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"train.jsonl line 1: label 'great' is not one of neg, pos"):
        load("rotten-tomatoes", path=str(tmp_path))


def test_bad_parameters_point_at_their_suite_line(write_suite, capsys):
    suite = write_suite("""
        task:
          use: sst2
          validation_fraction: 1.5
        model: minilm
        methods: [full]
    """)
    assert main(["validate", str(suite)]) == 2
    error = capsys.readouterr().err
    assert f"{suite}:3:" in error and "validation_fraction must be in [0, 1)" in error
    suite = write_suite("""
        task:
          use: ag-news
          path: /nowhere/agnews
        model: minilm
        methods: [full]
    """, name="missing.yaml")
    assert main(["validate", str(suite)]) == 2
    error = capsys.readouterr().err
    assert f"{suite}:3:" in error and "path '/nowhere/agnews' does not exist" in error


def test_the_contract_kit_checks_pair_and_token_tasks(tmp_path):
    from harness.core.types import Example, TaskData
    from harness.kinds.token.examples import TokenExample

    class Fixed:
        def __init__(self, data):
            self.data = data

        def load(self, env):
            return self.data

    pairs = (Example("a", "premise", 0, text_pair="hypothesis"), Example("b", "premise", 1))
    test_pair = (Example("t", "premise", 0, text_pair="hypothesis"),)
    with pytest.raises(AssertionError, match="example 'b' has text_pair None, but the task names 2 text field"):
        check_task(Fixed(TaskData("pairs", ("yes", "no"), pairs, (), test_pair, text_fields=("p", "h"))))
    sentences = (TokenExample("s1", ("John", "runs"), (1, 0)), TokenExample("s2", ("Paris",), (2,)))
    test = (TokenExample("t1", ("Mary",), (1,)),)
    labels = ("O", "B-PER", "B-LOC")
    assert check_task(Fixed(TaskData("ner", labels, sentences, (), test, kind="token-classification")))
    broken = (TokenExample("s3", ("John", "runs"), (1,)),)
    with pytest.raises(AssertionError, match="has 2 tokens but 1 tags"):
        check_task(Fixed(TaskData("ner", labels, broken, (), test, kind="token-classification")))
    with pytest.raises(AssertionError, match="is not a harness.Example"):
        check_task(Fixed(TaskData("ner", labels, sentences, (), test)))
