"""Reporter `junit`: junit.xml, one test case per gate (and one per crashed stage) for CI test-report views.

A failed gate is a <failure> whose message says what was measured against which threshold, with its confidence
interval; a crashed stage is an <error> with its traceback. CI systems (GitLab, Jenkins, GitHub test reporters)
show these next to the unit tests.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from harness import ReportRequest, hookimpl


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
                                        errors=str(len(crashed)), skipped=str(sum(gate.skipped for gate in run.gates)),
                                        time=f"{float(run.manifest.get('duration_seconds') or 0):.3f}")
        for gate in run.gates:
            case = ElementTree.SubElement(testsuite, "testcase", classname=f"{suite_name}.gates",
                                          name=xml_safe(gate.description))
            message = xml_safe(gate.detail or f"{gate.metric} {gate.op} {gate.threshold}: measured {gate.measured}")
            if gate.skipped:
                ElementTree.SubElement(case, "skipped", message=message)
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


@hookimpl
def register_reporters(register):
    register("junit", JunitReporter, description="junit.xml: one test case per gate (and per crashed stage)")
