"""Replaying attacked examples with plain TextAttack, as README.md ("Replaying one attacked example with plain
TextAttack") tells users: the run's records, the cell's saved model, the recipe's build(), the record's seed."""

from __future__ import annotations

import importlib.metadata
import json
import random
from pathlib import Path

import pytest
from conftest import dump_suite, tiny_suite

from harness.attack.perturbation import text_seed
from harness.attack.textattack_resources import missing_resources
from harness.cli import main

pytestmark = pytest.mark.textattack

MAX_LENGTH = 24
"""Short enough that DeepWordBug's and PWWS's candidate texts outgrow the window (the replay must cut them too)."""
SEED = 3
"""The cell's seed: not 0, so that a replay that ignored the record's seed and used the cell's would show."""
QUERY_BUDGET = 15
"""Of the `deepwordbug-budget` attack: searches it stops fail (`stopped_by`), and replay with the same budget."""
WORDNET_MISSING = missing_resources(("wordnet",))
ATTACKS = {"deepwordbug": {"use": "deepwordbug"},
           "deepwordbug-budget": {"use": "deepwordbug", "name": "deepwordbug-budget", "query_budget": QUERY_BUDGET},
           "pwws": {"use": "pwws"}}
"""The suite's attacks by label; pwws where WordNet is here."""
RUN = [label for label in ATTACKS if label != "pwws" or not WORDNET_MISSING]
REPLAYED = ["deepwordbug", "deepwordbug-budget", pytest.param("pwws", marks=pytest.mark.skipif(
    bool(WORDNET_MISSING), reason=f"pwws needs WordNet: {'; '.join(WORDNET_MISSING)}"))]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model_dir, sst2_files) -> Path:
    """The tiny BERT fine-tuned well enough that some attacks succeed and some fail, attacked by DeepWordBug
    (randomised per example; once more with a query budget) and, where WordNet is here, PWWS, on 14 test sentences
    and 2 long ones that are cut to the model's window before the attack."""
    directory = tmp_path_factory.mktemp("replay")
    header, *rows = sst2_files["test"].read_text(encoding="utf-8").splitlines()
    texts, labels = zip(*(row.split("\t") for row in rows))
    long_rows = [" ".join(text.strip() for text in texts[start:start + 4]) + "\t" + labels[start]
                 for start in (14, 20)]
    test = directory / "test.tsv"
    test.write_text("\n".join([header, *rows[:14], *long_rows]) + "\n", encoding="utf-8")
    suite = tiny_suite(tiny_model_dir, {**sst2_files, "test": test}, directory / "reports", seeds=[SEED],
                       model={"source": str(tiny_model_dir), "max_length": MAX_LENGTH},
                       methods=[{"use": "full", "epochs": 10, "batch_size": 16, "learning_rate": 3e-3}],
                       attacks=[ATTACKS[label] for label in RUN], explainers=[], budgets={"max_attack_examples": 16})
    assert main(["run", str(dump_suite(suite, directory / "suite.yaml")), "--no-progress"]) == 0
    (run,) = (directory / "reports" / "tiny").iterdir()
    return run


def attack_records(run_dir: Path, label: str) -> list[dict]:
    path = run_dir / "records" / f"full_seed{SEED}_attack_{label}.attack.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def saved_model_dir(run_dir: Path, finetune_stage_id: str) -> Path:
    """Where the cell's model is: the finetune stage's entry in the stage cache (the docs' recipe)."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    stages = [json.loads(line) for line in (run_dir / "stages.jsonl").read_text(encoding="utf-8").splitlines()]
    stage = next(stage for stage in stages if stage["stage_id"] == finetune_stage_id)
    stage_dir = Path(manifest["cache_dir"]) / "finetune" / stage["key"]
    return stage_dir / json.loads((stage_dir / "stage.json").read_text(encoding="utf-8"))["trained"]["model_dir"]


def replay(attack, record):
    """One example, as the docs say: seed Python, numpy and torch with the record's seed, then attack."""
    import numpy as np
    import torch

    random.seed(record["seed"])
    np.random.seed(record["seed"])
    torch.manual_seed(record["seed"])
    return attack.attack(record["original_text"], record["label"])


def test_records_carry_their_seed_and_library_versions(run_dir):
    versions = [(library, importlib.metadata.version(library)) for library in ("textattack", "transformers", "torch")]
    for label in RUN:
        records = attack_records(run_dir, label)
        assert len(records) == 16
        for record in records:
            assert record["seed"] == text_seed(SEED, "attack", record["example_id"])
            namespace = {"cell_seed": SEED, "example_id": record["example_id"]}
            exec(readme_snippet(0), namespace)  # README.md's derivation of the seed
            assert namespace["seed"] == record["seed"]
            assert [tuple(pair) for pair in record["library_versions"]] == versions


@pytest.mark.parametrize("label", REPLAYED)
def test_plain_textattack_replays_every_attacked_example(run_dir, label):
    """Every record (successful, failed, skipped; cut to the window or not) replays to the same adversarial text,
    status, query count and prediction, each example on its own (in reverse order: no example depends on another)."""
    import textattack.attack_recipes as recipes
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult, SuccessfulAttackResult
    from textattack.models.wrappers import HuggingFaceModelWrapper
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from harness.attack.textattack_bridge import make_candidate_order_deterministic
    from harness.attack.textattack_recipes import RECIPES
    from harness.core.resources import without_needless_nltk_downloads

    records = attack_records(run_dir, label)
    statuses = [record["status"] for record in records]
    assert "successful" in statuses and "failed" in statuses, statuses
    assert sum(record["characters_cut"] > 0 for record in records) == 2
    budget = ATTACKS[label].get("query_budget")
    if budget is not None:
        assert any(record["stopped_by"] == f"query budget of {budget} queries" for record in records)

    model_dir = saved_model_dir(run_dir, f"full/seed{SEED}/finetune")
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.model_max_length = MAX_LENGTH  # the suite's max_length: the window the harness's queries read
    with without_needless_nltk_downloads():  # offline: no omw-1.4 download attempt
        attack = getattr(recipes, RECIPES[ATTACKS[label]["use"]].recipe_class).build(
            HuggingFaceModelWrapper(model, tokenizer))
    make_candidate_order_deterministic(attack.transformation)  # as the harness does: WordNet candidates sorted
    if budget is not None:
        attack.goal_function.query_budget = budget

    names = {SuccessfulAttackResult: "successful", FailedAttackResult: "failed", SkippedAttackResult: "skipped"}
    flipped = []
    for record in reversed(records):
        result = replay(attack, record)
        perturbed = result.perturbed_result
        assert (names[type(result)], perturbed.num_queries, int(perturbed.output)) == (
            record["status"], record["num_queries"], record["perturbed_prediction"]), record["example_id"]
        # TextAttack's wrapper pads every query to max_length, the harness's predictor a batch to its longest text:
        # the same logits up to float rounding, not always bit for bit. Where two candidates score within that
        # rounding, the greedy search may keep the other one (seen once on a 2-core CPU, 2026-12-07: one letter of
        # one DeepWordBug example); the status, queries and prediction still agree, and more than one such example
        # would be a real difference.
        if perturbed.attacked_text.text != record["perturbed_text"]:
            flipped.append(record["example_id"])
            continue
        assert float(perturbed.raw_output.max()) == pytest.approx(record["perturbed_confidence"], abs=1e-5)
    assert len(flipped) <= 1, f"replayed texts differ for {flipped}"


def readme_snippet(number: int = 1) -> str:
    """A Python block of README.md's replay section: 0 derives the seed, 1 is the complete replay snippet."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("### Replaying one attacked example with plain TextAttack\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n")[1 + number].split("\n```")[0]


@pytest.mark.parametrize("label", REPLAYED)
def test_the_readme_snippet_replays_a_successful_and_a_failed_example(run_dir, label):
    """The snippet as README.md prints it, with this run's directory, cell, attack, example, max_length and query
    budget filled in."""
    from harness.attack.textattack_recipes import RECIPES

    name, budget = ATTACKS[label]["use"], ATTACKS[label].get("query_budget")
    records = attack_records(run_dir, label)
    for status, result_class in (("successful", "SuccessfulAttackResult"), ("failed", "FailedAttackResult")):
        record = next(record for record in records if record["status"] == status)
        code = readme_snippet()
        for placeholder, value in (('Path("reports/quickstart/<run-id>")', f"Path({str(run_dir)!r})"),
                                   ('"full/seed0"', f'"full/seed{SEED}"'), ('"deepwordbug"', repr(label)),
                                   ('"test-12"', repr(record["example_id"])),
                                   ("max_length = 128", f"max_length = {MAX_LENGTH}"),
                                   ("DeepWordBugGao2018", RECIPES[name].recipe_class),
                                   ("# attack.goal_function.query_budget = 300",
                                    f"attack.goal_function.query_budget = {budget}" if budget else "")):
            assert code.count(placeholder) == 1, placeholder
            code = code.replace(placeholder, value)
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)
        result, replayed = namespace["result"], namespace["record"]
        assert replayed == record
        assert (result.perturbed_result.attacked_text.text, type(result).__name__,
                result.perturbed_result.num_queries) == (record["perturbed_text"], result_class, record["num_queries"])
