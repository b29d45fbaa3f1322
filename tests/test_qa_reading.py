"""Extractive-QA examples and readers (harness.kinds.qa): SQuAD 1.1 / 2.0 JSON, JSONL / CSV / TSV tables and hub rows,
on small files written here in those layouts. Every answer's offset is checked against its context, and every error
names the file, the line and the question's id. The real SQuAD 2.0 dev slice: tests/shared_data/test_squad_slice.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.core.errors import HarnessError
from harness.kinds.qa.examples import Answer, QAExample, answer_problem, first_answer
from harness.kinds.qa.reading import read_qa_table, read_squad_json, squad_examples_from_hub_rows

NORMANS = ("The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
           "France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway.")
NORMANS_LATER = "The Norman dynasty had a major political, cultural and military impact on medieval Europe."
COMPLEXITY = ("Computational complexity theory is a branch of the theory of computation in theoretical computer "
              "science that focuses on classifying computational problems according to their inherent difficulty.")
ZURICH = "Zürich liegt am Zürichsee. Das Café Odéon — gegründet 1911 — steht am Limmatquai; 東京 ist weit weg."


def span(context: str, text: str, nth: int = 0) -> dict:
    """A SQuAD answer object for the nth occurrence of `text` in `context`."""
    start = -1
    for _ in range(nth + 1):
        start = context.index(text, start + 1)
    return {"text": text, "answer_start": start}


def squad_11() -> dict:
    """SQuAD 1.1's layout: two articles, three paragraphs, dev-style repeated and differing annotator answers."""
    return {"version": "1.1", "data": [
        {"title": "Normans", "paragraphs": [
            {"context": NORMANS, "qas": [
                {"id": "q-country", "question": "In what country is Normandy located?",
                 "answers": [span(NORMANS, "France"), span(NORMANS, "France"), span(NORMANS, "France")]},
                {"id": "q-when", "question": "When were the Normans in Normandy?",
                 "answers": [span(NORMANS, "10th and 11th centuries"),
                             span(NORMANS, "in the 10th and 11th centuries")]},
            ]},
            {"context": NORMANS_LATER, "qas": [
                {"id": "q-impact", "question": "What did the Norman dynasty have on medieval Europe?",
                 "answers": [span(NORMANS_LATER, "a major political, cultural and military impact")]},
            ]},
        ]},
        {"title": "Computational_complexity_theory", "paragraphs": [
            {"context": COMPLEXITY, "qas": [
                {"id": "q-branch", "question": "What branch of theoretical computer science classifies problems?",
                 "answers": [span(COMPLEXITY, "Computational complexity theory")]},
                {"id": "q-theory", "question": "Which theory is it a branch of?",
                 "answers": [span(COMPLEXITY, "theory", 1), span(COMPLEXITY, "the theory of computation")]},
            ]},
        ]},
    ]}


def squad_20() -> dict:
    """SQuAD 2.0's layout: `is_impossible` on every question; unanswerable ones carry `plausible_answers`."""
    document = squad_11()
    document["version"] = "v2.0"
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                qa["is_impossible"] = False
    normans = document["data"][0]["paragraphs"][0]
    normans["qas"].append({"id": "q-impossible", "question": "Who gave their name to France?", "answers": [],
                           "plausible_answers": [span(NORMANS, "The Normans")], "is_impossible": True})
    complexity = document["data"][1]["paragraphs"][0]
    # A distractor span need not be checked: plausible answers are not answers.
    complexity["qas"].insert(0, {"id": "q-impossible-2", "question": "What focuses on easy problems?", "answers": [],
                                 "plausible_answers": [{"text": "focuses", "answer_start": 3}],
                                 "is_impossible": True})
    return document


def write_json(path: Path, document: dict, **options) -> Path:
    path.write_text(json.dumps(document, **({"indent": 2} | options)), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle` in a file."""
    text = path.read_text(encoding="utf-8")
    return text[:text.index(needle)].count("\n") + 1


def assert_offsets_hold(examples) -> None:
    for example in examples:
        assert answer_problem(example) is None
        for answer in example.answers:
            assert example.context[answer.start:answer.start + len(answer.text)] == answer.text


# ----------------------------------------------------------------------------------------------- examples


def test_an_example_knows_its_first_answer_and_whether_it_is_answerable():
    answer = Answer("France", NORMANS.index("France"))
    example = QAExample("q", "Where?", NORMANS, (answer, Answer("a region in France", NORMANS.index("a region"))))
    assert first_answer(example) == answer and answer.end == answer.start + 6
    assert not example.is_impossible and example.title == ""
    unanswerable = QAExample("u", "Who?", NORMANS)
    assert unanswerable.is_impossible and first_answer(unanswerable) is None
    assert answer_problem(example) is None and answer_problem(unanswerable) is None


@pytest.mark.parametrize("example, expected", [
    (QAExample("q", "  ", NORMANS), "question is empty"),
    (QAExample("q", "Where?", ""), "context is empty"),
    (QAExample("q", "Where?", NORMANS, (Answer("France", -3),)), "offset is negative"),
    (QAExample("q", "Where?", NORMANS, (Answer("", 0),)), "text is empty"),
    (QAExample("q", "Where?", "in France", (Answer("France", 5),)), "past the end of the context (9 characters)"),
])
def test_answer_problem_says_what_is_wrong(example, expected):
    assert expected in answer_problem(example)


def test_a_misplaced_answer_shows_what_the_context_holds_there_and_where_the_text_is():
    start = NORMANS.index("France")
    problem = answer_problem(QAExample("q", "Where?", NORMANS, (Answer("France", start + 1),)))
    assert f"holds {NORMANS[start + 1:start + 7]!r}" in problem and "not 'France'" in problem
    assert f"occurs at offset {start}" in problem
    assert "does not occur" in answer_problem(QAExample("q", "Where?", NORMANS, (Answer("Germany", 3),)))


# ----------------------------------------------------------------------------------------------- SQuAD JSON


def test_squad_11_every_question_of_every_article_and_paragraph_in_file_order(tmp_path):
    examples = read_squad_json(write_json(tmp_path / "dev-v1.1.json", squad_11()))
    assert [e.id for e in examples] == ["q-country", "q-when", "q-impact", "q-branch", "q-theory"]
    assert [e.title for e in examples] == ["Normans"] * 3 + ["Computational_complexity_theory"] * 2
    assert [e.context for e in examples] == [NORMANS, NORMANS, NORMANS_LATER, COMPLEXITY, COMPLEXITY]
    assert len(examples[0].answers) == 3 and len({a.start for a in examples[1].answers}) == 2
    assert examples[4].answers[0] == Answer("theory", COMPLEXITY.index("theory", COMPLEXITY.index("theory") + 1))
    assert not any(e.is_impossible for e in examples)
    assert_offsets_hold(examples)


def test_squad_20_unanswerable_questions_have_no_answers_and_plausible_answers_are_not_read(tmp_path):
    examples = read_squad_json(write_json(tmp_path / "dev-v2.0.json", squad_20(), indent=None))  # one line
    by_id = {e.id: e for e in examples}
    assert len(examples) == 7 and [e.id for e in examples if e.is_impossible] == ["q-impossible", "q-impossible-2"]
    assert by_id["q-impossible"].answers == () and by_id["q-impossible"].title == "Normans"
    assert first_answer(by_id["q-when"]) == Answer("10th and 11th centuries", NORMANS.index("10th"))
    assert_offsets_hold(examples)


def test_an_answer_at_a_wrong_offset_names_the_file_the_line_of_its_question_and_the_id(tmp_path):
    document = squad_20()
    bad = document["data"][1]["paragraphs"][0]["qas"][2]  # q-theory: its second answer, one character late
    bad["answers"][1]["answer_start"] += 1
    path = write_json(tmp_path / "dev.json", document)
    with pytest.raises(HarnessError) as caught:
        read_squad_json(path)
    message = str(caught.value)
    line = line_of(path, '"id": "q-theory"')
    assert message.startswith(f"{path} line {line} (data[1].paragraphs[0].qas[2])")
    assert "question 'q-theory'" in message and "answer 2" in message
    start = COMPLEXITY.index("the theory of computation")
    assert f"holds {COMPLEXITY[start + 1:start + 26]!r} at that offset, not 'the theory of computation'" in message
    assert f"occurs at offset {start}" in message


def test_a_question_without_an_id_is_located_by_its_question_text(tmp_path):
    document = squad_11()
    del document["data"][0]["paragraphs"][1]["qas"][0]["id"]
    path = write_json(tmp_path / "dev.json", document)
    with pytest.raises(HarnessError, match=rf"line {line_of(path, 'What did the Norman dynasty')} "
                                           rf"\(data\[0\]\.paragraphs\[1\]\.qas\[0\]\): the question's \"id\""):
        read_squad_json(path)


def test_a_repeated_question_id_is_an_error_at_its_second_line(tmp_path):
    document = squad_11()
    document["data"][1]["paragraphs"][0]["qas"][1]["id"] = "q-when"
    path = write_json(tmp_path / "dev.json", document)
    text = path.read_text(encoding="utf-8")
    first = line_of(path, '"id": "q-when"')
    second = text[:text.index('"id": "q-when"', text.index('"id": "q-when"') + 1)].count("\n") + 1
    with pytest.raises(HarnessError) as caught:
        read_squad_json(path)
    assert str(caught.value).startswith(f"{path} line {second} (data[1].paragraphs[0].qas[1]): question id 'q-when' "
                                        f"is used again (first at {path} line {first} ")


@pytest.mark.parametrize("content, expected", [
    ('[{"question": "Where?", "context": "Here.", "answer": "Here"}]', "a list of questions is a table"),
    ('{"version": "v2.0", "articles": []}', "no \"data\" \\(its keys: version, articles\\)"),
    ('{"data": [{"title": "T", "context": "c"}]}', "data\\[0\\]\\): an article must be an object with a list"),
    ('{"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": {}}]}]}', "a paragraph must be an object"),
    ('{"data": [\n{"title": "T",\n "paragraphs": [}]}', "line 3, column 17: not valid JSON"),
])
def test_a_file_not_in_squads_layout_says_what_was_expected(tmp_path, content, expected):
    path = tmp_path / "not-squad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HarnessError, match=expected):
        read_squad_json(path)


@pytest.mark.parametrize("change, expected", [
    ({"is_impossible": True}, "is_impossible\" is true but it has 1 answers"),
    ({"answers": [], "is_impossible": False}, "is_impossible\" is false but it has no answers"),
    ({"answers": [{"text": "France"}]}, "answer 1 must be an object with \"text\" and \"answer_start\""),
    ({"answers": [{"text": "France", "answer_start": "159"}]}, "the offset \\(answer_start\\) must be an integer"),
    ({"question": ""}, "the question is empty"),
])
def test_a_contradictory_or_malformed_question_is_an_error_at_its_line(tmp_path, change, expected):
    document = squad_11()
    document["data"][0]["paragraphs"][1]["qas"][0].update(change)
    path = write_json(tmp_path / "dev.json", document)
    with pytest.raises(HarnessError, match=rf"^{path} line {line_of(path, 'q-impact')} .*question 'q-impact': "
                                           rf".*{expected}"):
        read_squad_json(path)


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_offsets_are_characters_not_bytes_in_a_utf8_context(tmp_path, ensure_ascii):
    answers = [span(ZURICH, "Café Odéon"), span(ZURICH, "1911"), span(ZURICH, "Limmatquai")]
    assert answers[2]["answer_start"] < len(ZURICH[:answers[2]["answer_start"]].encode("utf-8"))
    document = {"version": "v2.0", "data": [{"title": "Zürich", "paragraphs": [{"context": ZURICH, "qas": [
        {"id": "z-1", "question": "Welches Café?", "answers": answers, "is_impossible": False}]}]}]}
    path = write_json(tmp_path / "zurich.json", document, ensure_ascii=ensure_ascii)
    [example] = read_squad_json(path)
    assert example.title == "Zürich" and [a.text for a in example.answers] == ["Café Odéon", "1911", "Limmatquai"]
    assert_offsets_hold([example])
    byte_offset = len(ZURICH[:ZURICH.index("Limmatquai")].encode("utf-8"))
    answers[2]["answer_start"] = byte_offset  # what a tool counting UTF-8 bytes would write
    path = write_json(tmp_path / "zurich-bytes.json", document, ensure_ascii=ensure_ascii)
    with pytest.raises(HarnessError, match=rf"line {line_of(path, 'z-1')} .*question 'z-1': answer 3 .*occurs at "
                                           rf"offset {ZURICH.index('Limmatquai')}"):
        read_squad_json(path)


# ----------------------------------------------------------------------------------------------- tables


def write_lines(path: Path, rows: list) -> Path:
    """JSON lines; a string row is written as it is (a blank line, or a deliberately broken one)."""
    path.write_text("\n".join(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows)
                    + "\n", encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_jsonl_answers_given_every_way_and_unanswerable_rows(tmp_path):
    theory = span(COMPLEXITY, "theory", 1)
    path = write_lines(tmp_path / "qa.jsonl", [
        {"id": "a", "title": "Normans", "question": "Where?", "context": NORMANS, "answer": "France",
         "answer_start": NORMANS.index("France")},
        {"id": "b", "question": "Which theory?", "context": COMPLEXITY, "answer": "theory"},  # its first occurrence
        "",
        {"id": "c", "question": "Which one?", "context": COMPLEXITY,
         "answers": {"text": ["theory", "the theory of computation"],
                     "answer_start": [theory["answer_start"], COMPLEXITY.index("the theory of computation")]}},
        {"question": "Who?", "context": ZURICH, "answer": "Limmatquai"},  # no id: its line number
        {"id": "e", "question": "Unanswerable?", "context": NORMANS, "answer": ""},
        {"id": "f", "question": "Unanswerable too?", "context": NORMANS, "answers": {"text": [], "answer_start": []}},
        {"id": "g", "question": "No answer field?", "context": NORMANS},
        {"id": "h", "question": "Blank, -1?", "context": NORMANS, "answer": " ", "answer_start": -1},
    ])
    examples = read_qa_table(path)
    assert [e.id for e in examples] == ["a", "b", "c", "5", "e", "f", "g", "h"]
    assert examples[0].answers == (Answer("France", NORMANS.index("France")),) and examples[0].title == "Normans"
    assert examples[1].answers == (Answer("theory", COMPLEXITY.index("theory")),)
    assert [a.start for a in examples[2].answers] == [theory["answer_start"], COMPLEXITY.index("the theory")]
    assert examples[3].answers == (Answer("Limmatquai", ZURICH.index("Limmatquai")),)  # characters, not bytes
    assert [e.is_impossible for e in examples] == [False] * 4 + [True] * 4
    assert_offsets_hold(examples)


def test_csv_and_tsv_tables_with_quoted_commas_and_line_breaks(tmp_path):
    header = ["id", "title", "question", "context", "answer", "answer_start"]
    two_lines = "First line, with a comma.\nSecond line names France."
    rows = [["a", "Normans", "Where?", NORMANS, "France", NORMANS.index("France")],
            ["b", "", "Which?", two_lines, "France", ""],
            ["c", "", "Nothing?", NORMANS, "", ""],
            ["d", "Zürich", "Welches Café?", ZURICH, "Café Odéon", ZURICH.index("Café")]]
    examples = read_qa_table(write_csv(tmp_path / "qa.csv", header, rows))
    assert [e.id for e in examples] == ["a", "b", "c", "d"] and examples[1].context == two_lines
    assert examples[1].answers == (Answer("France", two_lines.index("France")),) and examples[2].is_impossible
    assert examples[3].answers == (Answer("Café Odéon", ZURICH.index("Café")),) and examples[3].title == "Zürich"
    assert_offsets_hold(examples)
    tsv_rows = [[value.replace("\n", " ") if isinstance(value, str) else value for value in row] for row in rows]
    tsv = read_qa_table(write_csv(tmp_path / "qa.tsv", header, tsv_rows, delimiter="\t"))
    assert [e.answers for e in tsv] == [e.answers for e in examples]


def test_csv_answers_column_holds_the_hubs_dict_as_json(tmp_path):
    answers = json.dumps({"text": ["France", "a region in France"],
                          "answer_start": [NORMANS.index("France"), NORMANS.index("a region")]})
    rows = [["q1", "Where?", NORMANS, answers], ["q2", "Who?", NORMANS, json.dumps({"text": [], "answer_start": []})]]
    examples = read_qa_table(write_csv(tmp_path / "qa.csv", ["id", "question", "context", "answers"], rows))
    assert [len(e.answers) for e in examples] == [2, 0] and examples[0].answers[1].text == "a region in France"


def test_a_wrong_answer_start_in_a_table_names_the_file_the_line_and_the_id(tmp_path):
    rows = [["a", "Where?", "One,\ntwo, France.", "France", "10"],  # the row spans lines 2-3
            ["b", "Where?", NORMANS, "France", str(NORMANS.index("France") - 2)]]
    path = write_csv(tmp_path / "qa.csv", ["id", "question", "context", "answer", "answer_start"], rows)
    start = NORMANS.index("France")
    with pytest.raises(HarnessError, match=rf"^{path} line 4: question 'b': answer 1 \('France' at offset "
                                           rf"{start - 2}\): the context holds 'n Fran' at that offset, not 'France'; "
                                           rf"the text occurs at offset {start}$"):
        read_qa_table(path)


def test_an_answer_text_that_is_not_in_the_context_names_its_line(tmp_path):
    path = write_lines(tmp_path / "qa.jsonl", [
        {"id": "a", "question": "Where?", "context": NORMANS, "answer": "France"},
        {"id": "b", "question": "Where?", "context": NORMANS, "answer": "Frances"},
    ])
    with pytest.raises(HarnessError, match=rf"^{path} line 2: question 'b': the answer 'Frances' does not occur in "
                                           rf"the context"):
        read_qa_table(path)


def test_repeated_ids_in_a_table_name_both_lines(tmp_path):
    path = write_lines(tmp_path / "qa.jsonl", [
        {"id": "a", "question": "Where?", "context": NORMANS, "answer": "France"},
        {"id": "b", "question": "Who?", "context": NORMANS, "answer": "Norse"},
        {"id": "a", "question": "When?", "context": NORMANS, "answer": "10th"},
    ])
    with pytest.raises(HarnessError, match=rf"^{path} line 3: question id 'a' is used again \(first at {path} line "
                                           rf"1\)"):
        read_qa_table(path)


def test_a_missing_column_is_an_error_at_the_header_or_the_row(tmp_path):
    csv_path = write_csv(tmp_path / "qa.csv", ["id", "question", "passage", "answer"], [["a", "Q?", NORMANS, "x"]])
    with pytest.raises(HarnessError, match=rf"^{csv_path} line 1: no column 'context' \(the header has: id, "
                                           rf"question, passage, answer\)"):
        read_qa_table(csv_path)
    jsonl = write_lines(tmp_path / "qa.jsonl", [{"id": "a", "question": "Q?", "context": NORMANS, "answer": "France"},
                                                {"id": "b", "context": NORMANS, "answer": "France"}])
    with pytest.raises(HarnessError, match=rf"^{jsonl} line 2: no 'question'"):
        read_qa_table(jsonl)
    no_answers = write_lines(tmp_path / "no-answers.jsonl", [{"question": "Q?", "context": NORMANS}])
    with pytest.raises(HarnessError, match="no column \"answer\" .* or \"answers\""):
        read_qa_table(no_answers)


@pytest.mark.parametrize("name, content, expected", [
    ("qa.csv", "question,context,answer\nWhere?,In France, of course.,France\n",
     r"line 2: 4 fields, but the header \(line 1\) has 3; a comma inside a field that is not in double quotes"),
    ("qa.jsonl", '{"question": "Q?", "context": "In France.", "answer": "France"}\n{"question": \n',
     "line 2: not valid JSON"),
    ("qa.jsonl", '{"question": "Q?", "context": "In France.", "answer": "", "answer_start": 3}\n',
     r"line 1: question '1': \"answer_start\" is 3 but the answer is blank"),
    ("qa.jsonl", '{"question": "Q?", "context": "In France.", "answer": "France", "answer_start": "x"}\n',
     r"line 1: question '1': answer 1: the offset \(answer_start\) must be an integer"),
    ("qa.jsonl", '{"question": "Q?", "context": "In France.", "answer": "France", "answers": '
                 '{"text": ["France"], "answer_start": [3]}}\n', "both \"answers\" and \"answer\""),
    ("qa.jsonl", '{"question": "Q?", "context": "In France.", "answers": {"text": ["France"], "answer_start": []}}\n',
     "one offset per text"),
    ("qa.json", "[]", "read_squad_json"),
])
def test_a_malformed_table_names_its_line(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HarnessError, match=expected):
        read_qa_table(path)


# ----------------------------------------------------------------------------------------------- hub rows


def hub_row(example_id: str, question: str, context: str, texts: list[str], title: str = "Normans") -> dict:
    starts = [context.index(text) for text in texts]
    return {"id": example_id, "title": title, "context": context, "question": question,
            "answers": {"text": texts, "answer_start": starts}}


def test_hub_rows_of_squad_v2_become_checked_examples():
    rows = [hub_row("56ddde6b9a695914005b9628", "Where?", NORMANS, ["France", "France"]),
            hub_row("5ad39d53604f3c001a3fe8d1", "Who gave France its name?", NORMANS, []),
            hub_row("z", "Welches Café?", ZURICH, ["Café Odéon"], title="Zürich")]
    examples = squad_examples_from_hub_rows(rows)
    assert [e.id for e in examples] == [row["id"] for row in rows]
    assert [e.is_impossible for e in examples] == [False, True, False] and examples[2].title == "Zürich"
    assert examples[0].answers == (Answer("France", NORMANS.index("France")),) * 2
    assert_offsets_hold(examples)


def test_a_bad_hub_row_names_its_row_and_id():
    bad = hub_row("q2", "Where?", NORMANS, ["France"])
    bad["answers"]["answer_start"] = [0]
    with pytest.raises(HarnessError, match=r"^rajpurkar/squad_v2 validation row 2 \(id 'q2'\): answer 1 \('France' "
                                           r"at offset 0\): the context holds 'The No'"):
        squad_examples_from_hub_rows([hub_row("q1", "Where?", NORMANS, ["France"]), bad],
                                     origin="rajpurkar/squad_v2 validation")
    with pytest.raises(HarnessError, match=r"row 2 \(id 'q1'\): question id 'q1' is used again \(first at hub rows "
                                           r"row 1"):
        squad_examples_from_hub_rows([hub_row("q1", "Where?", NORMANS, ["France"])] * 2)
    with pytest.raises(HarnessError, match=r"row 1 \(id 'q1'\): no column answers"):
        squad_examples_from_hub_rows([{"id": "q1", "question": "Where?", "context": NORMANS}])
