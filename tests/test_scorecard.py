"""The scorecard and the other reports of a real (small) run: opened in headless Chromium, attacked with hostile
text, weighed at 1,000 examples; and the Markdown, JUnit and CSV reporters."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import dump_suite, tiny_suite
from fixture_data import sentiment_rows, write_sst2_tsv

from harness import AttackOutcome, AttackRecord, hookimpl
from harness.cli import main
from harness.core.store import read_run

HOSTILE_TEXTS = [
    ("<script>window.__injected = 'dataset';</script> a gorgeous , witty , seductive movie .", 1),
    ("<img src=x onerror=\"window.__injected='img'\"> the plot is nothing but boilerplate clichés", 0),
    ("it 's \"charming\" and 'often' affecting & bold </td></tr></table> journey", 1),
    ("unflinchingly bleak and desperate {{ 7 * 7 }} ${alert(1)}", 0),
]
HOSTILE_SUFFIX = " <img src=x onerror=\"window.__injected='attack'\"><script>window.__injected='attack2'</script>'\""


class HostileAttack:
    """A third-party attack defined here: appends markup to every text and reports success, so the drill-down
    shows adversarial texts full of HTML that must come out as literal text."""

    def __init__(self, config):
        self.config = config

    def attack(self, classifier, examples, env):
        texts = [example.text for example in examples]
        changed = [text + HOSTILE_SUFFIX for text in texts]
        before, after = classifier.predictor.probabilities(texts), classifier.predictor.probabilities(changed)
        return AttackOutcome(tuple(
            AttackRecord(example.id, example.text, text, example.label, int(p.argmax()), int(q.argmax()),
                         float(p.max()), float(q.max()), "successful", 2, 1, len(example.text.split()), 0.0)
            for example, text, p, q in zip(examples, changed, before, after)))


class HostilePlugin:
    @hookimpl
    def register_attacks(self, register):
        register("hostile", HostileAttack)


def latest_run(output: Path) -> Path:
    return max((output / "tiny").iterdir(), key=lambda path: path.stat().st_mtime_ns)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, tiny_model_dir, sst2_files) -> Path:
    """Two methods on SST-2-style training sentences, tested on hostile texts, attacked and explained."""
    directory = tmp_path_factory.mktemp("hostile")
    test_file = directory / "test.jsonl"
    test_file.write_text("".join(json.dumps({"text": text, "label": label}) + "\n" for text, label in HOSTILE_TEXTS),
                         encoding="utf-8")
    output = directory / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, attacks=[{"use": "hostile"}],
                       explainers=[{"use": "integrated-gradients", "n_steps": 8}],
                       perturbations=[{"use": "keyboard-typos"}],
                       budgets={"max_attack_examples": 4, "max_explain_examples": 4},
                       gates=[{"metric": "accuracy", "stage": "evaluate", "op": ">=", "threshold": 0.0},
                              {"metric": "attack_success_rate", "op": "<=", "threshold": 0.5,
                               "name": "robust <enough> & \"quoted\""}],
                       reports=["json", "html", "markdown", "junit", "csv"])
    suite["task"].update(test=str(test_file), validation=str(sst2_files["test"]))
    path = dump_suite(suite, directory / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[HostilePlugin()]) == 1  # the second gate fails
    return latest_run(output)


def test_scorecard_in_a_real_browser(hostile_run, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get((hostile_run / "scorecard.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "table#comparison tbody tr")
    assert [row.get_attribute("data-method") for row in rows] == ["full", "lora"]

    # Sort by clean accuracy, both ways: the rows follow the values.
    header = next(h for h in browser.find_elements(By.CSS_SELECTOR, "table#comparison thead th")
                  if h.text.startswith("Clean accuracy"))
    column = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "table#comparison thead th")].index(header.text)

    def accuracies():
        return [float(row.find_elements(By.TAG_NAME, "td")[column].get_attribute("data-value"))
                for row in browser.find_elements(By.CSS_SELECTOR, "table#comparison tbody tr")]

    header.click()
    assert "sorted-asc" in header.get_attribute("class") and accuracies() == sorted(accuracies())
    header.click()
    assert "sorted-desc" in header.get_attribute("class") and accuracies() == sorted(accuracies(), reverse=True)

    # Open a drill-down: the adversarial example with its highlighted change and both attribution heatmaps.
    drilldown = browser.find_element(By.CSS_SELECTOR, "#adversarial-examples details.drilldown")
    assert not drilldown.get_attribute("open")
    drilldown.find_element(By.TAG_NAME, "summary").click()
    assert drilldown.get_attribute("open")
    assert drilldown.find_element(By.CSS_SELECTOR, ".adversarial mark").is_displayed()
    assert len(drilldown.find_elements(By.CSS_SELECTOR, ".attributions .heat")) == 2

    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) >= 3
    assert "FAIL" in browser.find_element(By.ID, "gates").text
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    screenshot = tmp_path / "scorecard.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000


def test_hostile_text_is_shown_literally_and_never_runs(hostile_run, browser):
    from selenium.webdriver.common.by import By

    browser.get((hostile_run / "scorecard.html").as_uri())
    for details in browser.find_elements(By.CSS_SELECTOR, "details"):
        browser.execute_script("arguments[0].open = true", details)
    assert browser.execute_script("return window.__injected === undefined")
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    # The page's own script is the only one.
    assert browser.execute_script("return document.querySelectorAll('script').length") == 1
    page_text = browser.find_element(By.TAG_NAME, "body").text
    assert "<script>window.__injected = 'dataset';</script>" in page_text
    assert "onerror=\"window.__injected='attack'\">" in page_text
    assert "{{ 7 * 7 }} ${alert(1)}" in page_text
    assert "robust <enough> & \"quoted\"" in page_text
    # The hostile </table> stayed text: the comparison table still has its two rows.
    assert len(browser.find_elements(By.CSS_SELECTOR, "table#comparison tbody tr")) == 2


def test_markdown_junit_and_csv_reports(hostile_run):
    summary = (hostile_run / "summary.md").read_text(encoding="utf-8")
    assert "### Gates: 1 of 2 failed" in summary and "❌ FAIL" in summary
    assert "robust &lt;enough&gt; &amp; \"quoted\"" in summary  # escaped: no raw HTML in a PR comment
    assert "| full |" in summary and "| lora |" in summary

    suite = ElementTree.parse(hostile_run / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert suite.get("tests") == "2" and suite.get("failures") == "1" and len(cases) == 2
    failed = [case for case in cases if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["robust <enough> & \"quoted\""]
    assert "required <= 0.5" in failed[0].find("failure").get("message")

    with (hostile_run / "comparison.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["method"] for row in rows] == ["full", "lora"]
    run = read_run(hostile_run)
    accuracy = {row.method: row.value for row in run.results if row.stage == "evaluate" and row.metric == "accuracy"}
    assert {row["method"]: float(row["evaluate/accuracy"]) for row in rows} == pytest.approx(accuracy)
    assert "attack/hostile/attack_success_rate:ci_low" in rows[0]


def test_report_rerenders_from_the_store(hostile_run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(hostile_run, copy)
    (copy / "scorecard.html").unlink()
    assert main(["report", str(copy), "--format", "html"]) == 0
    assert (copy / "scorecard.html").read_text(encoding="utf-8").count('<tr data-method=') == 2


def test_a_1000_example_scorecard_stays_small(tmp_path, tiny_model_dir, sst2_files):
    """Page weight: 1,000 test examples evaluated, attacked and perturbed, 100 explained, all in one run."""
    test_file = write_sst2_tsv(tmp_path / "test.tsv", sentiment_rows(1000, seed=11, vocabulary="test"))
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, attacks=[{"use": "hostile"}],
                       explainers=[{"use": "integrated-gradients", "n_steps": 4}],
                       perturbations=[{"use": "keyboard-typos"}],
                       budgets={"max_attack_examples": 1000, "max_explain_examples": 100, "max_eval_examples": 1000})
    suite["task"].update(test=str(test_file))
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[HostilePlugin()]) == 0
    run_dir = latest_run(output)
    assert read_run(run_dir).manifest["split_sizes"]["test"] == 1000
    size = (run_dir / "scorecard.html").stat().st_size
    print(f"scorecard of a 1,000-example run: {size / 1e6:.2f} MB")
    assert size < 5_000_000
