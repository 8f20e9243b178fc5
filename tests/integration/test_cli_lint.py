"""``tongban lint`` through Flask's CLI runner: the shipped definitions are clean, table and JSON, exit codes."""
from __future__ import annotations

import json
from pathlib import Path

from tests.bpmn_factory import diagram
from tests.integration.test_cli import app, runner, stderr_of  # noqa: F401 - fixtures

UNSAFE = diagram(condition="__import__('os').system('id')")


def test_the_shipped_definitions_lint_without_errors(runner):
    result = runner.invoke(args=["lint", "--json"])
    findings = json.loads(result.output)
    assert [f for f in findings if f["severity"] == "error"] == []
    assert result.exit_code == 0


def test_the_table_names_severity_code_file_and_element_and_exits_1_on_an_error(runner, tmp_path: Path):
    (tmp_path / "bad.bpmn").write_bytes(UNSAFE)
    result = runner.invoke(args=["lint", str(tmp_path)])
    assert result.exit_code == 1, result.output
    line = next(line for line in result.output.splitlines() if "EXPRESSION_REJECTED" in line)
    assert line.startswith("错误") and "bad.bpmn" in line and "gw" in line
    assert "1 个错误" in result.output


def test_json_lists_each_finding_and_nothing_is_deployed(runner, app, tmp_path: Path):
    (tmp_path / "bad.bpmn").write_bytes(UNSAFE)
    result = runner.invoke(args=["lint", "--json", str(tmp_path / "bad.bpmn")])
    assert result.exit_code == 1
    findings = json.loads(result.output)
    assert {(f["code"], f["element_id"], f["severity"], f["file"]) for f in findings} == {
        ("EXPRESSION_REJECTED", "gw", "error", "bad.bpmn"),
        *[("LINT_NAME_MISSING", el, "warning", "bad.bpmn") for el in ("start", "gw", "f_cond", "end")]}
    assert json.loads(runner.invoke(args=["lint", "--json", str(tmp_path / "bad.bpmn")]).output) == findings
    from app.runtime import get_engine
    with app.app_context():
        assert get_engine().queries.definitions() == []


def test_warnings_alone_exit_0(runner, tmp_path: Path):
    (tmp_path / "p.bpmn").write_bytes(diagram(process_id="probe"))
    assert runner.invoke(args=["deploy", str(tmp_path / "p.bpmn")]).exit_code == 0
    (tmp_path / "p.bpmn").write_bytes(diagram(process_id="probe", with_start=False).replace(
        b'<bpmn:userTask id="task"', b'<bpmn:startEvent id="begin"/><bpmn:sequenceFlow id="fb" sourceRef="begin" '
        b'targetRef="task"/><bpmn:userTask id="task"'))
    result = runner.invoke(args=["lint", str(tmp_path / "p.bpmn")])
    assert result.exit_code == 0, result.output
    assert "LINT_ID_REMOVED" in result.output and "警告" in result.output and "0 个错误" in result.output


def test_a_missing_path_or_no_lintable_file_is_bad_usage(runner, tmp_path: Path):
    missing = runner.invoke(args=["lint", str(tmp_path / "nope.bpmn")])
    assert missing.exit_code == 2
    (tmp_path / "notes.txt").write_text("x")
    empty = runner.invoke(args=["lint", str(tmp_path)])
    assert empty.exit_code == 2
    assert "没有找到" in stderr_of(empty)


def test_deploy_does_not_run_the_graph_checks_so_what_deploys_today_still_deploys(runner, tmp_path: Path):
    lost = diagram().replace(b'<bpmn:endEvent id="end"/>', b'<bpmn:endEvent id="end"/><bpmn:userTask id="lost">'
                             b'<bpmn:extensionElements><tb:assignment candidateGroups="reviewer"/>'
                             b'</bpmn:extensionElements></bpmn:userTask>'
                             b'<bpmn:sequenceFlow id="f_lost" sourceRef="lost" targetRef="end"/>')
    (tmp_path / "p.bpmn").write_bytes(lost)
    linted = runner.invoke(args=["lint", "--json", str(tmp_path / "p.bpmn")])
    codes = [f["code"] for f in json.loads(linted.output) if f["code"] != "LINT_NAME_MISSING"]
    assert (linted.exit_code, codes) == (1, ["LINT_UNREACHABLE"])
    assert runner.invoke(args=["deploy", str(tmp_path / "p.bpmn")]).exit_code == 0
