"""The extractive-QA scorecard sections (harness.kinds.qa.report): the methods table with its intervals, the
drill-downs with their marked contexts, the attribution heatmaps and the Markdown table, from a stored run written
by hand (no model is trained)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from harness.core.files import safe_file_name, write_jsonl
from harness.core.types import ResultRow, StageRecord, StoredRun
from harness.kinds.qa.report import (
    QA_EXAMPLES_PER_STAGE,
    Span,
    TextChunk,
    attribution_item,
    changed_spans,
    chunk_text,
    markdown_table,
    qa_report,
    qa_table,
    report_view,
)

CONTEXT = 'Paris is the capital of France. Its mayor said "<script>alert(1)</script>" & left.'
DISTRACTOR = "Rome is the capital of Spain."
ATTACKED = CONTEXT + " " + DISTRACTOR


def row(method: str, stage: str, component: str, metric: str, value: float, ci: tuple[float, float] | None = None,
        seed: int = 0) -> ResultRow:
    low, high = ci if ci is not None else (None, None)
    return ResultRow("local-qa", "tiny", method, seed, stage, component, metric, value, low, high, 100)


def stage(method: str, kind: str, component: str, seed: int = 0, status: str = "computed") -> StageRecord:
    stage_id = f"{method}/seed{seed}/{kind}" + (f"/{component}" if kind != "evaluate" else "")
    return StageRecord(stage_id, kind, component, "plugin", "key", status, 1.0, method, seed)


def write_records(run_dir: Path, record: StageRecord, name: str, records: list[dict[str, Any]]) -> None:
    write_jsonl(run_dir / "records" / f"{safe_file_name(record.stage_id)}.{name}.jsonl", records)


def prediction(example_id: str, answer: str, exact: int, f1: float) -> dict[str, Any]:
    start = CONTEXT.find(answer) if answer else 0
    return {"example_id": example_id, "question": "What is the capital of France?",
            "gold_answers": [{"text": "Paris", "start": 0}], "predicted_answer": answer,
            "predicted_start": start, "predicted_end": start + len(answer), "score": 3.5, "null_score": -1.0,
            "exact_match": exact, "f1": f1, "context": CONTEXT}


def attack_record(example_id: str, after: str, in_distractor: bool, changed: bool,
                  status: str = "attacked") -> dict[str, Any]:
    start = ATTACKED.rfind(after) if after else 0
    return {"example_id": example_id, "strategy": "add-sent", "status": status, "reason": "",
            "question": "What is the capital of France?", "context": ATTACKED, "distractor": DISTRACTOR,
            "distractor_start": len(CONTEXT) + 1, "distractor_end": len(ATTACKED), "fake_answer": "Rome",
            "gold_answers": [{"text": "Paris", "start": 0}], "answer_before": "Paris", "answer_before_start": 0,
            "answer_before_end": 5, "answer_after": after, "answer_after_start": start,
            "answer_after_end": start + len(after), "exact_match_before": 1, "f1_before": 1.0,
            "exact_match_after": int(after == "Paris"), "f1_after": 1.0 if after == "Paris" else 0.0,
            "in_distractor": in_distractor, "answer_changed": changed}


def perturb_record(example_id: str, changed: bool) -> dict[str, Any]:
    question = "What is the capitol of France?" if changed else "What is the capital of France?"
    return {"example_id": example_id, "target": "question", "changed": changed,
            "original_question": "What is the capital of France?", "perturbed_question": question,
            "original_context": CONTEXT, "perturbed_context": CONTEXT,
            "gold_answers": [{"text": "Paris", "start": 0}], "perturbed_gold_answers": [{"text": "Paris", "start": 0}],
            "answer_before": "Paris", "answer_before_start": 0, "answer_before_end": 5,
            "answer_after": "France" if changed else "Paris", "answer_after_start": 24 if changed else 0,
            "answer_after_end": 30 if changed else 5, "exact_match_before": 1, "f1_before": 1.0,
            "exact_match_after": 0 if changed else 1, "f1_after": 0.0 if changed else 1.0, "answer_changed": changed}


def attribution_record() -> dict[str, Any]:
    words = CONTEXT.split(" ")
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    return {"example_id": "q1", "method": "integrated-gradients", "question_words": ["What", "<is>", "capital"],
            "question_scores": [0.1, -0.5, 1.0], "context_words": words, "context_word_starts": starts,
            "context_scores": [2.0] + [-0.5] * (len(words) - 1), "answer": "Paris", "answer_start": 0, "answer_end": 5,
            "answer_words": [0, 1], "target_score": 7.5, "convergence_delta": 0.01}


def full_run(tmp_path: Path, unanswerable: bool = False) -> StoredRun:
    results = [row("full", "evaluate", "", "exact_match", 0.81, (0.78, 0.84)),
               row("full", "evaluate", "", "f1", 0.88, (0.85, 0.9)),
               row("lora", "evaluate", "", "exact_match", 0.7, (0.66, 0.74)),
               row("lora", "evaluate", "", "f1", 0.75, (0.71, 0.79)),
               row("full", "attack", "add-sent", "f1_under_attack", 0.4, (0.35, 0.45)),
               row("full", "attack", "add-sent", "answer_in_distractor_rate", 0.3, (0.25, 0.35)),
               row("lora", "attack", "add-sent", "f1_under_attack", 0.5, (0.45, 0.55)),
               row("lora", "attack", "add-sent", "answer_in_distractor_rate", 0.2, (0.15, 0.25)),
               row("full", "perturb", "typos", "perturbed_f1", 0.8, (0.75, 0.85)),
               row("full", "perturb", "typos", "answer_change_rate", 0.1, (0.05, 0.15)),
               row("full", "finetune", "", "train_seconds", 12.0)]
    if unanswerable:
        results += [row("full", "evaluate", "", "has_answer_f1", 0.9, (0.87, 0.93)),
                    row("full", "evaluate", "", "no_answer_f1", 0.6, (0.5, 0.7)),
                    row("full", "evaluate", "", "no_answer_examples", 40.0)]
    stages = [stage("full", "evaluate", "full"), stage("full", "attack", "add-sent"),
              stage("full", "perturb", "typos"), stage("full", "explain", "integrated-gradients"),
              stage("lora", "evaluate", "lora"), stage("lora", "attack", "add-sent", status="error")]
    write_records(tmp_path, stages[0], "predictions",
                  [prediction("q-right", "Paris", 1, 1.0), prediction("q-wrong", "France", 0, 0.0),
                   prediction("q-none", "", 0, 0.0)])
    write_records(tmp_path, stages[1], "qa-attack",
                  [attack_record("a-same", "Paris", False, False), attack_record("a-changed", "France", False, True),
                   attack_record("a-skip", "", False, False, status="skipped"),
                   attack_record("a-distracted", "Rome", True, True)])
    write_records(tmp_path, stages[2], "qa-perturb", [perturb_record("p-same", False), perturb_record("p-moved", True)])
    write_records(tmp_path, stages[3], "qa-attributions", [attribution_record()])
    write_records(tmp_path, stages[4], "predictions", [prediction(f"l{n}", "Paris", 1, 1.0) for n in range(10)])
    return StoredRun(tmp_path, {"methods": ["full", "lora"], "seeds": [0]}, tuple(results), tuple(stages))


# ------------------------------------------------------------------------------------------------- chunking


def test_overlapping_spans_split_at_every_boundary():
    text = "The quick brown fox"
    chunks = chunk_text(text, [Span(4, 15, "gold"), Span(10, 19, "wrong"), Span(4, 9, "distractor")])
    assert chunks == [TextChunk("The ", ()), TextChunk("quick", ("gold", "distractor")), TextChunk(" ", ("gold",)),
                      TextChunk("brown", ("gold", "wrong")), TextChunk(" fox", ("wrong",))]
    assert "".join(chunk.text for chunk in chunks) == text
    assert chunks[3].classes == "qa-gold qa-wrong"
    assert chunks[3].title == "gold answer, model answer (wrong)"


def test_spans_at_the_ends_of_the_text_and_out_of_range_offsets():
    text = "Paris is big"
    chunks = chunk_text(text, [Span(0, 5, "gold"), Span(9, 12, "correct")])
    assert chunks == [TextChunk("Paris", ("gold",)), TextChunk(" is ", ()), TextChunk("big", ("correct",))]
    # The whole text, clipped offsets, empty and reversed spans: never a failure, never an empty chunk.
    chunks = chunk_text(text, [Span(-3, 40, "distractor"), Span(5, 5, "gold"), Span(8, 2, "wrong")])
    assert chunks == [TextChunk(text, ("distractor",))]
    assert chunk_text(text, []) == [TextChunk(text, ())]
    assert chunk_text("", [Span(0, 3, "gold")]) == []


def test_identical_spans_of_two_marks_are_one_chunk():
    assert chunk_text("ab", [Span(0, 2, "correct"), Span(0, 2, "gold")]) == [TextChunk("ab", ("gold", "correct"))]


def test_changed_spans_mark_replaced_and_inserted_words_on_each_side():
    before, after = "What is the capital of France?", "What is teh capital city of France?"
    left, right = changed_spans(before, after)
    assert [before[span.start:span.end] for span in left] == ["the"]
    assert [after[span.start:span.end] for span in right] == ["teh", "city"]
    assert changed_spans("same words", "same words") == ([], [])


# ------------------------------------------------------------------------------------------------- the table


def test_the_methods_table_has_em_f1_and_robustness_columns_with_intervals(tmp_path):
    table = qa_table(full_run(tmp_path))
    assert [column.title for column in table.columns] == [
        "EM", "F1", "F1 under add-sent", "answer in distractor (add-sent)", "F1 under typos", "answer changed (typos)"]
    assert table.methods == ["full", "lora"]
    em, f1 = table.columns[0], table.columns[1]
    cell = table.cell("full", em)
    assert (cell.value, cell.ci_low, cell.ci_high) == (0.81, 0.78, 0.84)
    assert table.cell("lora", table.columns[4]) is None  # lora ran no perturbation
    assert table.best(f1) == "full"
    assert table.best(table.columns[3]) == "lora"  # fewer answers in the distractor is better
    assert all(column.percent for column in table.columns)


def test_has_answer_and_no_answer_columns_only_with_unanswerable_questions(tmp_path):
    titles = [column.title for column in qa_table(full_run(tmp_path, unanswerable=True)).columns]
    assert titles[:4] == ["EM", "F1", "HasAns F1", "NoAns F1"]
    assert "no_answer_examples" not in str(titles)


def test_seeds_are_averaged_like_the_comparison_table(tmp_path):
    results = (row("full", "evaluate", "", "f1", 0.8, (0.7, 0.9), seed=0),
               row("full", "evaluate", "", "f1", 0.6, (0.5, 0.7), seed=1))
    table = qa_table(StoredRun(tmp_path, {"methods": ["full"]}, results, ()))
    cell = table.cell("full", table.columns[0])
    assert math.isclose(cell.value, 0.7) and math.isclose(cell.ci_low, 0.6) and math.isclose(cell.ci_high, 0.8)


def test_the_html_table_prints_values_and_intervals_in_percent(tmp_path):
    view = report_view(full_run(tmp_path))
    [section] = view.html_sections
    assert 'id="qa-methods"' in section and "<th" in section
    assert "81.0" in section and "78.0–84.0" in section
    assert "F1 under add-sent" in section and "answer in distractor (add-sent)" in section
    assert "HasAns" not in section.split("</p>", 1)[1]
    assert view.training_score_name == "validation F1"


def test_the_markdown_table(tmp_path):
    run = full_run(tmp_path)
    [markdown] = report_view(run).markdown_sections
    lines = markdown.splitlines()
    assert lines[0] == "### Extractive QA"
    assert lines[2] == ("| method | EM | F1 | F1 under add-sent | answer in distractor (add-sent) | F1 under typos | "
                        "answer changed (typos) |")
    assert lines[3] == "|---|---|---|---|---|---|---|"
    assert lines[4].startswith("| full | **81.0 (78.0–84.0)** | **88.0 (85.0–90.0)** | 40.0 (35.0–45.0) | ")
    assert lines[5] == ("| lora | 70.0 (66.0–74.0) | 75.0 (71.0–79.0) | **50.0 (45.0–55.0)** | **20.0 (15.0–25.0)** "
                        "| – | – |")
    piped = StoredRun(tmp_path, {"methods": ["a|b"]}, (row("a|b", "evaluate", "", "f1", 0.5),), ())
    assert "| a\\|b | 50.0 |" in markdown_table(qa_table(piped))


# ------------------------------------------------------------------------------------------------- drill-downs


def test_drilldowns_show_the_informative_examples_first(tmp_path):
    qa = qa_report(full_run(tmp_path))
    assert [item["example_id"] for item in qa["evaluate"] if item["method"] == "full"] == ["q-wrong", "q-none",
                                                                                          "q-right"]
    assert len([item for item in qa["evaluate"] if item["method"] == "lora"]) == QA_EXAMPLES_PER_STAGE
    # Answers moved into the distractor, then changed answers; skipped examples are not shown.
    assert [item["example_id"] for item in qa["attack"]] == ["a-distracted", "a-changed", "a-same"]
    assert [item["example_id"] for item in qa["perturb"]] == ["p-moved", "p-same"]
    assert qa["evaluate"][0]["cell"] == "full"


def test_the_evaluate_drilldown_marks_gold_and_predicted_spans(tmp_path):
    qa = qa_report(full_run(tmp_path))
    wrong = qa["evaluate"][0]
    marked = {chunk.text: chunk.marks for chunk in wrong["context"] if chunk.marks}
    assert marked == {"Paris": ("gold",), "France": ("wrong",)}
    right = qa["evaluate"][2]
    assert [chunk for chunk in right["context"] if chunk.marks] == [TextChunk("Paris", ("gold", "correct"))]
    abstained = qa["evaluate"][1]
    assert abstained["answer"] == "" and [chunk.marks for chunk in abstained["context"] if chunk.marks] == [("gold",)]


def test_the_attack_drilldown_marks_the_distractor_and_the_answers_before_and_after(tmp_path):
    view = report_view(full_run(tmp_path))
    item = qa_report(full_run(tmp_path))["attack"][0]
    marked = [(chunk.text, chunk.marks) for chunk in item["context"] if chunk.marks]
    assert marked == [("Paris", ("gold", "before")), ("Rome", ("wrong", "distractor")),
                      (" is the capital of Spain.", ("distractor",))]
    drilldowns = "".join(view.html_drilldowns)
    assert 'id="qa-adversarial-examples"' in drilldowns
    assert 'class="qa-wrong qa-distractor"' in drilldowns and 'class="qa-distractor"' in drilldowns
    assert "answer in the distractor" in drilldowns


def test_the_perturb_drilldown_marks_changed_words_and_both_answers(tmp_path):
    item = qa_report(full_run(tmp_path))["perturb"][0]
    assert [chunk for chunk in item["question_after"] if chunk.marks] == [TextChunk("capitol", ("changed",))]
    assert [chunk for chunk in item["question_before"] if chunk.marks] == [TextChunk("capital", ("changed",))]
    assert [chunk for chunk in item["context_after"] if chunk.marks] == [TextChunk("Paris", ("gold",)),
                                                                          TextChunk("France", ("wrong",))]
    assert [chunk for chunk in item["context_before"] if chunk.marks] == [TextChunk("Paris", ("gold", "correct"))]
    assert 'id="qa-perturbations"' in "".join(report_view(full_run(tmp_path)).html_drilldowns)


def test_attribution_heatmaps_outline_the_answer_and_share_one_scale(tmp_path):
    item = attribution_item(attribution_record())
    assert item["context"][0] == ("Paris", 1.0, 2.0, True)
    assert not any(inside for _, _, _, inside in item["context"][1:])
    assert item["question"][2] == ("capital", 0.5, 1.0, False)
    # The answer's words are context_words[i:j]; without them, the answer's characters decide.
    record = {**attribution_record(), "answer_words": [1, 3]}
    assert [inside for _, _, _, inside in attribution_item(record)["context"][:4]] == [False, True, True, False]
    record = {**attribution_record(), "answer_words": None, "answer_start": 6, "answer_end": 12}
    assert [inside for _, _, _, inside in attribution_item(record)["context"][:4]] == [False, True, True, False]
    abstained = {**attribution_record(), "answer": "", "answer_start": 0, "answer_end": 0, "answer_words": [0, 0]}
    assert not any(inside for _, _, _, inside in attribution_item(abstained)["context"])
    drilldowns = "".join(report_view(full_run(tmp_path)).html_drilldowns)
    assert 'id="qa-attributions"' in drilldowns
    assert 'class="in-answer" style="background: rgba(34,139,34,1.00)"' in drilldowns
    assert "rgba(200,30,30,0.25)" in drilldowns


def test_texts_from_records_are_escaped(tmp_path):
    view = report_view(full_run(tmp_path))
    html = "".join(view.html_sections + view.html_drilldowns)
    assert "<script>" not in html and "<is>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;" in html and "&amp; left." in html


# ------------------------------------------------------------------------------------------------- absent parts


def test_absent_stages_are_left_out(tmp_path):
    evaluate = stage("full", "evaluate", "full")
    write_records(tmp_path, evaluate, "predictions", [prediction("q1", "Paris", 1, 1.0)])
    run = StoredRun(tmp_path, {"methods": ["full"]}, (row("full", "evaluate", "", "f1", 0.9, (0.8, 0.95)),),
                    (evaluate,))
    view = report_view(run)
    assert [column.title for column in qa_table(run).columns] == ["F1"]
    drilldowns = "".join(view.html_drilldowns)
    assert 'id="qa-predictions"' in drilldowns
    for absent in ("qa-adversarial-examples", "qa-perturbations", "qa-attributions"):
        assert absent not in drilldowns


def test_a_stage_without_its_records_file_shows_nothing(tmp_path):
    run = StoredRun(tmp_path, {"methods": ["full"]}, (), (stage("full", "attack", "add-sent"),))
    assert qa_report(run)["attack"] == []


@pytest.mark.parametrize("manifest", [{}, {"methods": ["full"]}])
def test_an_empty_run_gives_empty_sections(tmp_path, manifest):
    view = report_view(StoredRun(tmp_path, manifest, (), ()))
    assert (view.html_sections, view.html_drilldowns, view.html_styles, view.markdown_sections, view.charts) == (
        (), (), (), (), ())
    assert view.training_score_name == "validation F1"


def test_several_seeds_name_the_seed_in_the_drilldowns(tmp_path):
    stages = (stage("full", "evaluate", "full", seed=0), stage("full", "evaluate", "full", seed=1))
    for record in stages:
        write_records(tmp_path, record, "predictions", [prediction("q1", "Paris", 1, 1.0)])
    qa = qa_report(StoredRun(tmp_path, {"methods": ["full"]}, (), stages))
    assert [item["cell"] for item in qa["evaluate"]] == ["full · seed 0", "full · seed 1"]


def test_the_view_has_styles_and_charts(tmp_path):
    view = report_view(full_run(tmp_path))
    [styles] = view.html_styles
    for mark in ("gold", "correct", "partial", "wrong", "before", "distractor", "changed"):
        assert f".qa-{mark} " in styles
    assert [chart.title for chart in view.charts] == ["Robustness vs clean F1", "F1 under each attack and perturbation"]
