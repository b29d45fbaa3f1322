"""Reporter `junit`: junit.xml, one test case per gate (and one per crashed stage) for CI test-report views.

A failed gate is a <failure> whose message says what was measured against which threshold, with its confidence
interval (and for a significant baseline gate its p-value and Holm-adjusted p-value); a crashed stage is an <error>
with its traceback. A baseline gate given no baseline is <skipped>; so is an underpowered gate (it held, but its
sample is too small to detect the move it allows), with a message that starts "underpowered:" and names the sample
that would suffice: CI test views show skipped tests apart from passing ones, where a passing test's output goes
unread. Gates with a paired test also carry <properties> (p_value, adjusted_p_value, detectable_change,
sufficient_sample) for tools that read them. CI systems (GitLab, Jenkins, GitHub test reporters) show these next to
the unit tests.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from harness import GateOutcome, ReportRequest, hookimpl


class JunitReporter:
    def __init__(self, config=None):
        self.config = config

    def render(self, request: ReportRequest) -> list[Path]:
        from harness import atomic_write_text, xml_safe

        run = request.run
        # Names are checked at validation, but messages and tracebacks of plugins can hold anything: XML 1.0 cannot
        # carry most control characters, and a CI test reporter drops a document that is not well-formed.
        suite_name = xml_safe(run.manifest.get("suite", "harness"))
        crashed = [stage for stage in run.stages if stage.status == "error"]
        failures = sum(not gate.passed for gate in run.gates)
        testsuite = ElementTree.Element("testsuite", name=f"harness gates: {suite_name}",
                                        tests=str(len(run.gates) + len(crashed)), failures=str(failures),
                                        errors=str(len(crashed)),
                                        skipped=str(sum(gate.verdict in ("skipped", "underpowered")
                                                        for gate in run.gates)),
                                        time=f"{float(run.manifest.get('duration_seconds') or 0):.3f}")
        for gate in run.gates:
            case = ElementTree.SubElement(testsuite, "testcase", classname=f"{suite_name}.gates",
                                          name=xml_safe(gate.description))
            message = xml_safe(gate.detail or f"{gate.metric} {gate.op} {gate.threshold}: measured {gate.measured}")
            _statistics(case, gate)
            if gate.skipped:
                ElementTree.SubElement(case, "skipped", message=message)
            elif gate.underpowered:
                ElementTree.SubElement(case, "skipped", message=f"underpowered: {message}")
                ElementTree.SubElement(case, "system-out").text = message
            elif not gate.passed:
                ElementTree.SubElement(case, "failure", message=message, type="GateFailed").text = message
            else:
                ElementTree.SubElement(case, "system-out").text = message
        for stage in crashed:
            case = ElementTree.SubElement(testsuite, "testcase", classname=f"{suite_name}.stages",
                                          name=xml_safe(stage.stage_id))
            ElementTree.SubElement(case, "error", message=xml_safe(f"plugin {stage.plugin}: {stage.error}"),
                                   type="StageCrashed").text = xml_safe(stage.traceback)
        ElementTree.indent(testsuite)
        path = request.output_dir / "junit.xml"
        atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n'
                          + ElementTree.tostring(testsuite, encoding="unicode") + "\n")
        return [path]


def _statistics(case: ElementTree.Element, gate: GateOutcome) -> None:
    """The gate's test statistics as <properties>, where it ran a test."""
    values = {name: getattr(gate, name) for name in ("p_value", "adjusted_p_value", "detectable_change",
                                                      "sufficient_sample")}
    if values["p_value"] is None and values["detectable_change"] is None and values["sufficient_sample"] is None:
        return
    properties = ElementTree.SubElement(case, "properties")
    for name, value in values.items():
        if value is not None:
            ElementTree.SubElement(properties, "property", name=name, value=f"{value:.6g}")


@hookimpl
def register_reporters(register):
    register("junit", JunitReporter, description="junit.xml: one test case per gate (and per crashed stage)")
