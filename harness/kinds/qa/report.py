"""What the reports show of an extractive question-answering run: the kind's ReportView.

`qa_table(run)` is the QA methods table (EM, F1, the HasAns / NoAns breakdown where the run has unanswerable
questions, and F1 and its failure rate under each attack and perturbation, with intervals); `qa_report(run)` adds the
drill-downs (questions with their contexts, the gold and predicted answers, inserted distractors and perturbed words
marked) and the attribution heatmaps, built from the store's records alone like everything in a report;
`report_view(run)` renders them (harness/kinds/qa/templates/qa_sections.html, with the environment of the harness's
own templates) into the sections the HTML and Markdown reporters place.

The records read (per stage, as harness.kinds.qa's stages write them): evaluate `predictions`, attack `qa-attack`,
perturb `qa-perturb`, explain `qa-attributions`. A stage that did not run, or a record without a field, leaves its part
out rather than failing the report.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from harness.core.types import StageRecord, StoredRun
from harness.kinds.base import ReportView
from harness.kinds.qa.training import QATraining
from harness.report.reporting import (
    ComparisonTable,
    format_value,
    kind_markdown_table,
    kind_table,
    record_number,
    record_text,
    template_environment,
)

QA_EXAMPLES_PER_STAGE = 6
"""Questions shown per evaluate, attack, perturb and explain stage of a cell in a QA scorecard."""

TEMPLATES_PACKAGE = "harness.kinds.qa"
"""The package whose templates/ holds qa_sections.html."""

# Columns of the QA methods table, in order: (metric, title, higher is better). Every value is a share in [0, 1],
# printed as a percentage. A column shows only when some method has a value (HasAns / NoAns: only when the run has
# unanswerable questions, since the evaluate stage reports the breakdown only then).
EVALUATE_COLUMNS = (("exact_match", "EM", True), ("f1", "F1", True), ("has_answer_f1", "HasAns F1", True),
                    ("no_answer_f1", "NoAns F1", True))
COMPONENT_COLUMNS = {
    "attack": (("f1_under_attack", "F1 under {}", True), ("answer_in_distractor_rate", "answer in distractor ({})",
                                                          False)),
    "perturb": (("perturbed_f1", "F1 under {}", True), ("answer_change_rate", "answer changed ({})", False)),
}

MARK_TITLES = {
    "gold": "gold answer",
    "correct": "model answer (exact match)",
    "partial": "model answer (partly right)",
    "wrong": "model answer (wrong)",
    "before": "model answer before the attack",
    "distractor": "inserted distractor",
    "changed": "changed by the perturbation",
}
"""What each mark of a context chunk means (its tooltip); the order is the order of a chunk's CSS classes."""


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of a text, marked `mark` (a key of MARK_TITLES)."""

    start: int
    end: int
    mark: str


@dataclass(frozen=True)
class TextChunk:
    """A run of characters of a text drawn as one piece, with every mark whose span covers all of it."""

    text: str
    marks: tuple[str, ...] = ()

    @property
    def classes(self) -> str:
        return " ".join(f"qa-{mark}" for mark in self.marks)

    @property
    def title(self) -> str:
        return ", ".join(MARK_TITLES.get(mark, mark) for mark in self.marks)


def chunk_text(text: str, spans: Iterable[Span]) -> list[TextChunk]:
    """`text` cut at every span boundary, each piece with the marks of the spans covering it. Spans may overlap (a
    predicted answer inside a gold one, an answer inside a distractor); spans are clipped to the text and empty ones
    dropped, so offsets from a record that does not fit its text cannot fail a report."""
    length = len(text)
    kept = [(max(0, min(span.start, length)), max(0, min(span.end, length)), span.mark) for span in spans]
    kept = [(start, end, mark) for start, end, mark in kept if start < end]
    boundaries = sorted({0, length, *(start for start, _, _ in kept), *(end for _, end, _ in kept)})
    order = {mark: index for index, mark in enumerate(MARK_TITLES)}
    chunks = []
    for left, right in zip(boundaries, boundaries[1:]):
        marks = {mark for start, end, mark in kept if start <= left and right <= end}
        chunks.append(TextChunk(text[left:right], tuple(sorted(marks, key=lambda mark: (order.get(mark, len(order)),
                                                                                         mark)))))
    return chunks


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def span_of(start: Any, end: Any, mark: str) -> list[Span]:
    """The span of a record's offsets, or none where they are missing or empty (an abstained answer: 0, 0)."""
    start, end = _int(start), _int(end)
    return [Span(start, end, mark)] if start is not None and end is not None and start < end else []


def gold_spans(answers: Any) -> list[Span]:
    """The spans of a record's gold answers ([{text, start}]); an unanswerable question has none."""
    spans = []
    for answer in answers or ():
        if isinstance(answer, Mapping) and answer.get("text") and (start := _int(answer.get("start"))) is not None:
            spans.append(Span(start, start + len(answer["text"]), "gold"))
    return spans


def answer_mark(exact: Any, f1: Any) -> str:
    """How a model answer is drawn: "correct" (exact match), "partial" (some word overlap) or "wrong"."""
    if isinstance(exact, (int, float)) and exact >= 1:
        return "correct"
    return "partial" if isinstance(f1, (int, float)) and f1 > 0 else "wrong"


def changed_spans(before: str, after: str) -> tuple[list[Span], list[Span]]:
    """The words a perturbation changed, as "changed" spans of `before` (replaced or deleted words) and of `after`
    (replacing or inserted words); runs of changed words are one span, so the spaces between them are marked too."""
    import difflib

    words_before = [match.span() for match in re.finditer(r"\S+", before)]
    words_after = [match.span() for match in re.finditer(r"\S+", after)]
    matcher = difflib.SequenceMatcher(a=[before[s:e] for s, e in words_before],
                                      b=[after[s:e] for s, e in words_after], autojunk=False)
    left, right = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            if i2 > i1:
                left.append(Span(words_before[i1][0], words_before[i2 - 1][1], "changed"))
            if j2 > j1:
                right.append(Span(words_after[j1][0], words_after[j2 - 1][1], "changed"))
    return left, right


def _golds(record: Mapping[str, Any], name: str = "gold_answers") -> list[str]:
    return [answer["text"] for answer in record.get(name) or () if isinstance(answer, Mapping) and answer.get("text")]


def evaluate_item(record: Mapping[str, Any]) -> dict[str, Any]:
    """A test question as the drill-down shows it: the context with the gold answers and the model's answer."""
    mark = answer_mark(record.get("exact_match"), record.get("f1"))
    spans = gold_spans(record.get("gold_answers")) + span_of(record.get("predicted_start"),
                                                             record.get("predicted_end"), mark)
    return {"example_id": str(record.get("example_id", "")), "question": record_text(record, "question"),
            "golds": _golds(record), "answer": record_text(record, "predicted_answer"), "mark": mark,
            "exact_match": record_number(record, "exact_match"), "f1": record_number(record, "f1"),
            "context": chunk_text(record_text(record, "context"), spans)}


def attack_item(record: Mapping[str, Any]) -> dict[str, Any]:
    """An attacked question: the attacked context with the gold answers, the inserted distractor, the clean answer
    ("before") and the answer under attack."""
    mark = answer_mark(record.get("exact_match_after"), record.get("f1_after"))
    spans = (gold_spans(record.get("gold_answers"))
             + span_of(record.get("distractor_start"), record.get("distractor_end"), "distractor")
             + span_of(record.get("answer_before_start"), record.get("answer_before_end"), "before")
             + span_of(record.get("answer_after_start"), record.get("answer_after_end"), mark))
    return {"example_id": str(record.get("example_id", "")), "question": record_text(record, "question"),
            "strategy": record_text(record, "strategy"), "golds": _golds(record),
            "fake_answer": record_text(record, "fake_answer"), "distractor": record_text(record, "distractor"),
            "answer_before": record_text(record, "answer_before"), "answer_after": record_text(record, "answer_after"),
            "mark_before": answer_mark(record.get("exact_match_before"), record.get("f1_before")), "mark": mark,
            "f1_before": record_number(record, "f1_before"), "f1_after": record_number(record, "f1_after"),
            "exact_match_before": record_number(record, "exact_match_before"),
            "exact_match_after": record_number(record, "exact_match_after"),
            "in_distractor": bool(record.get("in_distractor")), "answer_changed": bool(record.get("answer_changed")),
            "context": chunk_text(record_text(record, "context"), spans)}


def perturb_item(record: Mapping[str, Any]) -> dict[str, Any]:
    """A perturbed question: the original and the perturbed question and context side by side, changed words, gold
    answers and the model's answer on each marked."""
    question_before = record_text(record, "original_question")
    question_after = record_text(record, "perturbed_question")
    context_before, context_after = record_text(record, "original_context"), record_text(record, "perturbed_context")
    question_left, question_right = changed_spans(question_before, question_after)
    context_left, context_right = changed_spans(context_before, context_after)
    mark_before = answer_mark(record.get("exact_match_before"), record.get("f1_before"))
    mark_after = answer_mark(record.get("exact_match_after"), record.get("f1_after"))
    before = (context_left + gold_spans(record.get("gold_answers"))
              + span_of(record.get("answer_before_start"), record.get("answer_before_end"), mark_before))
    after = (context_right + gold_spans(record.get("perturbed_gold_answers"))
             + span_of(record.get("answer_after_start"), record.get("answer_after_end"), mark_after))
    return {"example_id": str(record.get("example_id", "")), "target": record_text(record, "target"),
            "golds": _golds(record), "answer_before": record_text(record, "answer_before"),
            "answer_after": record_text(record, "answer_after"), "mark_before": mark_before, "mark_after": mark_after,
            "f1_before": record_number(record, "f1_before"), "f1_after": record_number(record, "f1_after"),
            "exact_match_before": record_number(record, "exact_match_before"),
            "exact_match_after": record_number(record, "exact_match_after"),
            "answer_changed": bool(record.get("answer_changed")),
            "question_before": chunk_text(question_before, question_left),
            "question_after": chunk_text(question_after, question_right),
            "context_before": chunk_text(context_before, before), "context_after": chunk_text(context_after, after)}


def _numbers(values: Any) -> list[float]:
    return [float(v) if isinstance(v, (int, float)) and math.isfinite(v) else 0.0 for v in values or ()]


def attribution_item(record: Mapping[str, Any]) -> dict[str, Any]:
    """An explained answer as two heatmaps, question and context, on one scale (the largest |score| of both), so
    that colours compare across them. Cells: (word, weight in [-1, 1], score, inside the answer)."""
    question_words, context_words = list(record.get("question_words") or ()), list(record.get("context_words") or ())
    question_scores, context_scores = _numbers(record.get("question_scores")), _numbers(record.get("context_scores"))
    largest = max((abs(score) for score in question_scores + context_scores), default=0.0) or 1.0
    starts = record.get("context_word_starts")
    answer_start, answer_end = _int(record.get("answer_start")), _int(record.get("answer_end"))
    indices = record.get("answer_words") or ()

    def inside(index: int, word: str) -> bool:
        # The answer's words are context_words[i:j]; a record without them falls back on the answer's characters.
        if len(indices) == 2:
            return indices[0] <= index < indices[1]
        if isinstance(starts, list) and index < len(starts) and answer_start is not None and answer_end is not None:
            return starts[index] < answer_end and answer_start < starts[index] + len(word)
        return False

    return {"example_id": str(record.get("example_id", "")), "answer": record_text(record, "answer"),
            "target_score": record_number(record, "target_score"), "delta": record_number(record, "convergence_delta"),
            "question": [(str(word), score / largest, score, False)
                         for word, score in zip(question_words, question_scores)],
            "context": [(str(word), score / largest, score, inside(index, str(word)))
                        for index, (word, score) in enumerate(zip(context_words, context_scores))]}


def _informative(stage_kind: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records a drill-down shows first: wrong answers (evaluate); answers moved into the distractor, then
    changed answers (attack; skipped examples left out); changed answers, then changed inputs (perturb)."""
    if stage_kind == "evaluate":
        return sorted(records, key=lambda r: (record_number(r, "exact_match") or 0.0, record_number(r, "f1") or 0.0))
    if stage_kind == "attack":
        attacked = [record for record in records if record.get("status") == "attacked"]
        return sorted(attacked, key=lambda r: (not r.get("in_distractor"), not r.get("answer_changed")))
    if stage_kind == "perturb":
        return sorted(records, key=lambda r: (not r.get("answer_changed"), not r.get("changed")))
    return records


STAGE_RECORDS = {"evaluate": ("predictions", evaluate_item), "attack": ("qa-attack", attack_item),
                 "perturb": ("qa-perturb", perturb_item), "explain": ("qa-attributions", attribution_item)}
"""Per stage kind: the name of its per-example records and how one becomes a drill-down item."""


def _cell_label(stage: StageRecord, several_seeds: bool) -> str:
    return f"{stage.method} · seed {stage.seed}" if several_seeds else stage.method


def qa_report(run: StoredRun) -> dict[str, Any]:
    """What the scorecard shows of an extractive QA run: `table` (qa_table), `unanswerable` (whether the table has
    the HasAns / NoAns breakdown), and per stage kind ("evaluate",
    "attack", "perturb", "explain") the drill-down items of each finished stage, QA_EXAMPLES_PER_STAGE per stage,
    each with `cell` (method, and seed when the run has several), `component` and the item's fields."""
    finished = [stage for stage in run.stages if stage.status in ("computed", "cached")]
    several_seeds = len({stage.seed for stage in finished}) > 1
    items: dict[str, list[dict[str, Any]]] = {kind: [] for kind in STAGE_RECORDS}
    for stage in finished:
        if stage.kind not in STAGE_RECORDS:
            continue
        name, build = STAGE_RECORDS[stage.kind]
        for record in _informative(stage.kind, run.records(stage.stage_id, name))[:QA_EXAMPLES_PER_STAGE]:
            items[stage.kind].append({"cell": _cell_label(stage, several_seeds), "method": stage.method,
                                      "component": stage.component, **build(record)})
    table = qa_table(run)
    unanswerable = any(column.key[2].startswith("no_answer_") for column in table.columns)
    return {"table": table, "unanswerable": unanswerable, **items}


def qa_table(run: StoredRun) -> ComparisonTable:
    """Methods (x train sizes in a sweep; seeds averaged, as in the comparison table) x the QA columns; only the
    columns and methods with a value."""
    return kind_table(run, [(metric, title, better, True) for metric, title, better in EVALUATE_COLUMNS],
                      {stage: [(metric, title, better, True) for metric, title, better in columns]
                       for stage, columns in COMPONENT_COLUMNS.items()})


def markdown_table(table: ComparisonTable) -> str:
    """The QA methods table in Markdown (values and 95% intervals in percent, best of each column in bold); "" for
    a run without QA results."""
    return kind_markdown_table(table, "Extractive QA", "SQuAD exact match and F1 in percent, 95% intervals in "
                               "brackets; under each attack and perturbation the F1 and the share of answers that "
                               "moved into the distractor or changed; best of each column in bold.")


def qa_charts(table: ComparisonTable) -> list[Any]:
    """Clean F1 against F1 under attack (mean over attacks), and F1 under each attack and perturbation: the QA
    versions of the scorecard's accuracy charts."""
    from harness.report.charts import robustness_charts

    return robustness_charts(table, "f1", ("f1_under_attack", "perturbed_f1"), "F1")


def _sections(*parts: Any) -> tuple[str, ...]:
    """Rendered macro outputs as sections, the blank ones left out."""
    return tuple(str(part) for part in parts if str(part).strip())


def report_view(run: StoredRun) -> ReportView:
    """The scorecard's QA parts: the QA methods table (after the comparison table), the question drill-downs and
    attribution heatmaps (after the adversarial examples), their CSS, the QA charts, the same table in Markdown, and
    the training curves scored by validation F1."""
    qa = qa_report(run)
    if not qa["table"].columns and not any(qa[kind] for kind in STAGE_RECORDS):
        return ReportView(training_score_name=QATraining.score_name)  # nothing of QA to show, not even its CSS
    template = template_environment(TEMPLATES_PACKAGE).get_template("qa_sections.html")
    sections = template.make_module({"qa": qa, "format_value": format_value})
    markdown = markdown_table(qa["table"])
    return ReportView(charts=tuple(qa_charts(qa["table"])),
                      html_sections=_sections(sections.methods_table()),
                      html_drilldowns=_sections(sections.drilldowns()),
                      html_styles=_sections(sections.styles()),
                      markdown_sections=(markdown,) if markdown else (),
                      training_score_name=QATraining.score_name)
