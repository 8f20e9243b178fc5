"""Lint without a database: every new graph check on a small diagram, and the deploy checks collected per file."""
from __future__ import annotations

from pathlib import Path

from engine.definitions import Finding
from engine.expressions import Evaluator
from engine.forms import parse_form
from engine.lint import DeployedFacts, LintLimits, lint_files
from engine.text_input import BIDI_WHAT
from tests.bpmn_factory import HEAD, diagram

ROOT = Path(__file__).resolve().parent.parent.parent
LIMITS = LintLimits(5 * 1024 * 1024, 1024 * 1024)
ASSIGN = '<bpmn:extensionElements><tb:assignment candidateGroups="reviewer"/></bpmn:extensionElements>'
FORM = b'{"id": "opinion", "type": "default", "components": [{"type": "textfield", "key": "note", "label": "x"}]}'


def nothing_deployed(**kwargs) -> DeployedFacts:
    return DeployedFacts(form=lambda key: None, **kwargs)


NAMING = ("LINT_NAME_MISSING", "LINT_ID_GENERATED")


def lint(*files: tuple[str, bytes], forms: tuple[tuple[str, bytes], ...] = (),
         deployed: DeployedFacts | None = None, naming: bool = False) -> list[Finding]:
    """Lint the files; the probes here are unnamed, so the naming rules are left out unless asked for."""
    findings = lint_files(list(files), list(forms), Evaluator(), LIMITS, deployed or nothing_deployed())
    return [f for f in findings if naming or f.code not in NAMING]


def process(body: str, *, pid: str = "probe", head_extra: str = "") -> bytes:
    """A document with one executable process holding ``body`` (user tasks get candidates via ASSIGN)."""
    return (HEAD + head_extra + f'<bpmn:process id="{pid}" isExecutable="true">{body}</bpmn:process>'
            "</bpmn:definitions>").encode()


def task(tid: str) -> str:
    return f'<bpmn:userTask id="{tid}">{ASSIGN}</bpmn:userTask>'


def flow(fid: str, source: str, target: str, condition: str | None = None) -> str:
    cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'


def found(findings: list[Finding], code: str) -> list[tuple[str | None, str]]:
    return sorted((f.element_id, f.severity) for f in findings if f.code == code)


def test_the_factory_diagram_has_no_findings():
    assert lint(("ok.bpmn", diagram())) == []


def test_a_node_no_start_event_reaches_is_unreachable():
    body = ('<bpmn:startEvent id="start"/>' + task("a") + task("lost") + '<bpmn:endEvent id="end"/>'
            + flow("f1", "start", "a") + flow("f2", "a", "end") + flow("f3", "lost", "end"))
    findings = lint(("t.bpmn", process(body)))
    assert found(findings, "LINT_UNREACHABLE") == [("lost", "error")]
    assert all(f.file == "t.bpmn" for f in findings)


def test_a_loop_without_exit_is_a_dead_end_for_every_node_in_it():
    body = ('<bpmn:startEvent id="start"/>' + task("a") + task("b") + task("c") + '<bpmn:endEvent id="end"/>'
            '<bpmn:exclusiveGateway id="gw" default="f_end"/>'
            + flow("f1", "start", "a") + flow("f2", "a", "gw") + flow("f_end", "gw", "end")
            + flow("f_loop", "gw", "b", "retry") + flow("f4", "b", "c") + flow("f5", "c", "b"))
    assert found(lint(("t.bpmn", process(body))), "LINT_DEAD_END") == [("b", "error"), ("c", "error")]


def test_a_loop_with_an_exit_and_a_boundary_timer_exit_are_not_dead_ends():
    body = ('<bpmn:startEvent id="start"/>' + task("a") + task("b") + '<bpmn:endEvent id="end"/>'
            '<bpmn:boundaryEvent id="late" attachedToRef="b"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
            + flow("f1", "start", "a") + flow("f2", "a", "b") + flow("f3", "b", "a") + flow("f4", "late", "end"))
    assert lint(("t.bpmn", process(body))) == []


def test_a_gateway_without_outgoing_or_incoming_flow_is_dangling():
    body = ('<bpmn:startEvent id="start"/>' + task("a") + '<bpmn:endEvent id="end"/>'
            '<bpmn:parallelGateway id="stuck"/><bpmn:parallelGateway id="orphan"/>'
            + flow("f1", "start", "a") + flow("f2", "a", "stuck") + flow("f3", "orphan", "end"))
    findings = lint(("t.bpmn", process(body)))
    assert found(findings, "LINT_GATEWAY_NO_OUTGOING") == [("stuck", "error")]
    assert found(findings, "LINT_GATEWAY_NO_INCOMING") == [("orphan", "error")]


def test_exclusive_branches_need_a_condition_unless_default():
    body = ('<bpmn:startEvent id="start"/>' + task("a") + '<bpmn:endEvent id="end"/>'
            '<bpmn:exclusiveGateway id="gw"/>'
            + flow("f1", "start", "a") + flow("f2", "gw", "end") + flow("f3", "a", "gw") + flow("f4", "gw", "end"))
    assert found(lint(("t.bpmn", process(body))), "LINT_FLOW_NO_CONDITION") == [("f2", "error"), ("f4", "error")]


def test_an_exclusive_gateway_with_only_conditions_and_no_default_is_a_warning():
    body = ('<bpmn:startEvent id="start"/>' + task("a") + '<bpmn:endEvent id="end"/>'
            '<bpmn:exclusiveGateway id="gw"/>'
            + flow("f1", "start", "a") + flow("f2", "a", "gw") + flow("f3", "gw", "end", "x == 1")
            + flow("f4", "gw", "end", "x == 2"))
    findings = lint(("t.bpmn", process(body)))
    assert [(f.code, f.element_id, f.severity) for f in findings] == [("LINT_GATEWAY_NO_DEFAULT", "gw", "warning")]


MESSAGE = '<bpmn:message id="Msg_done" name="材料已补正"/>'


def thrower() -> bytes:
    body = ('<bpmn:startEvent id="start"/><bpmn:intermediateThrowEvent id="notify">'
            '<bpmn:messageEventDefinition messageRef="Msg_done"/></bpmn:intermediateThrowEvent>'
            '<bpmn:endEvent id="end"/>' + flow("f1", "start", "notify") + flow("f2", "notify", "end"))
    return process(body, pid="sender", head_extra=MESSAGE)


def catcher() -> bytes:
    body = ('<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait">'
            '<bpmn:messageEventDefinition messageRef="Msg_done"/></bpmn:intermediateCatchEvent>'
            '<bpmn:endEvent id="end"/>' + flow("f1", "start", "wait") + flow("f2", "wait", "end"))
    return process(body, pid="receiver", head_extra=MESSAGE)


def test_a_message_nobody_catches_is_an_error():
    assert found(lint(("sender.bpmn", thrower())), "LINT_MESSAGE_UNMATCHED") == [("notify", "error")]


def test_a_message_caught_in_another_linted_file_is_matched():
    assert lint(("sender.bpmn", thrower()), ("receiver.bpmn", catcher())) == []


def test_a_message_caught_only_by_a_deployed_process_is_a_warning():
    deployed = nothing_deployed(processes={"receiver": (3, catcher().decode())})
    findings = lint(("sender.bpmn", thrower()), deployed=deployed)
    assert [(f.code, f.element_id, f.severity) for f in findings] == [("LINT_MESSAGE_ELSEWHERE", "notify", "warning")]


def test_ids_gone_since_the_deployed_version_are_warnings():
    old = diagram(script="x = 1").decode()
    findings = lint(("p.bpmn", diagram()), deployed=nothing_deployed(processes={"probe": (2, old)}))
    assert [(f.code, f.element_id, f.severity, f.file) for f in findings] == [
        ("LINT_ID_REMOVED", "script", "warning", "p.bpmn")]
    assert "第 2 版" in findings[0].message


def test_a_timer_literal_that_does_not_parse_is_an_error():
    assert found(lint(("t.bpmn", diagram(timer='"PT2X"'))), "TIMER_INVALID") == [("timer", "error")]
    assert lint(("t.bpmn", diagram(timer='"PT2H"'))) == []


def test_a_form_file_with_errors_is_pointed_at_not_asked_to_be_deployed():
    ext = '<tb:assignment candidateGroups="reviewer"/><tb:form key="opinion"/>'
    findings = lint(("t.bpmn", diagram(task_extensions=ext)), forms=(("forms/opinion.form", b'{"id": "opinion"}'),))
    [missing] = [f for f in findings if f.code == "TB_FORM_MISSING"]
    assert missing.message == "表单 opinion 的文件 forms/opinion.form 有错误，未能载入：请先改正该文件的问题"
    assert any(f.file == "forms/opinion.form" and f.severity == "error" for f in findings)


def test_a_form_must_be_linted_along_or_deployed():
    ext = '<tb:assignment candidateGroups="reviewer"/><tb:form key="opinion"/>'
    assert found(lint(("t.bpmn", diagram(task_extensions=ext))), "TB_FORM_MISSING") == [("task", "error")]
    assert lint(("t.bpmn", diagram(task_extensions=ext)), forms=(("opinion.form", FORM),)) == []
    deployed = DeployedFacts(form=lambda key: parse_form(FORM) if key == "opinion" else None)
    assert lint(("t.bpmn", diagram(task_extensions=ext)), deployed=deployed) == []


def test_deploy_checks_of_every_file_are_reported_each_with_its_file():
    no_candidates = diagram(task_extensions="")
    unsafe = diagram(process_id="other", condition="__import__('os')")
    findings = lint(("bad.bpmn", b"<not xml"), ("nobody.bpmn", no_candidates), ("unsafe.bpmn", unsafe),
                    forms=(("broken.form", b"{"),))
    assert sorted((f.code, f.file) for f in findings) == [
        ("BPMN_MALFORMED_XML", "bad.bpmn"), ("EXPRESSION_REJECTED", "unsafe.bpmn"),
        ("FORM_NOT_JSON", "broken.form"), ("TB_NO_CANDIDATES", "nobody.bpmn")]


def test_catalog_problems_carry_file_and_line():
    findings = lint(("x/matters.yaml", "matters:\n  - code: [\n".encode()))
    assert [(f.code, f.file, f.line is not None) for f in findings] == [("TB_CATALOG_YAML", "x/matters.yaml", True)]


def test_a_bundle_is_checked_against_its_linted_process_and_forms():
    bundle = (ROOT / "processes" / "qiye_kaiban" / "bundle.yaml").read_bytes()
    process = (ROOT / "processes" / "qiye_kaiban" / "main.bpmn").read_bytes()
    alone = lint(("qiye_kaiban/bundle.yaml", bundle))
    assert {(f.code, f.file) for f in alone} == {("TB_BUNDLE_PROCESS", "qiye_kaiban/bundle.yaml")}
    assert all(f.line for f in alone)
    without_forms = lint(("qiye_kaiban/main.bpmn", process), ("qiye_kaiban/bundle.yaml", bundle))
    assert "TB_BUNDLE_FORM" in {f.code for f in without_forms if f.file == "qiye_kaiban/bundle.yaml"}


def test_a_one_time_notice_naming_an_unknown_task_is_an_error():
    body = ('<bpmn:extensionElements><tb:oneTimeNotice tasks="notify"/></bpmn:extensionElements>'
            '<bpmn:startEvent id="s"/>' + flow("f1", "s", "notice") + task("notice") + flow("f2", "notice", "e")
            + '<bpmn:endEvent id="e"/>')
    assert found(lint(("t.bpmn", process(body))), "TB_BAD_NOTICE") == [("probe", "error")]
    assert lint(("t.bpmn", process(body.replace('tasks="notify"', 'tasks="notice"')))) == []


def test_a_budget_on_a_clock_the_process_does_not_declare_is_a_warning():
    """QA: <tb:deadline clock="legal"> with no tb:clock kind="legal": the task would never be due."""
    budget = ('<bpmn:userTask id="review"><bpmn:extensionElements><tb:assignment candidateGroups="reviewer"/>'
              '<tb:deadline workdays="5" clock="{clock}"/></bpmn:extensionElements></bpmn:userTask>')
    body = ('<bpmn:startEvent id="s"/>' + flow("f1", "s", "review") + "{task}" + flow("f2", "review", "e")
            + '<bpmn:endEvent id="e"/>')
    undeclared = lint(("p.bpmn", process(body.format(task=budget.format(clock="legal")))))
    assert found(undeclared, "TB_DEADLINE_CLOCK_UNDECLARED") == [("review", "warning")]
    declared = process('<bpmn:extensionElements><tb:clock kind="legal" workdays="20"/></bpmn:extensionElements>'
                       + body.format(task=budget.format(clock="legal")))
    assert found(lint(("p.bpmn", declared)), "TB_DEADLINE_CLOCK_UNDECLARED") == []
    own = lint(("p.bpmn", process(body.format(task=budget.format(clock="task")))))
    assert found(own, "TB_DEADLINE_CLOCK_UNDECLARED") == []


def test_lint_refuses_the_file_names_a_deploy_refuses_naming_them_escaped():
    long_name = "流" * 300 + ".bpmn"
    found = lint(("a\u202e.bpmn", diagram()), (long_name, diagram(process_id="other")),
                 forms=(("f\x00.form", b"{}"),))
    names = [(f.code, f.file) for f in found if f.code.startswith("FILE_NAME_")]
    assert names == [("FILE_NAME_TOO_LONG", "流" * 255 + "…"), ("FILE_NAME_UNSAFE", "a\\u202e.bpmn"),
                     ("FILE_NAME_UNSAFE", "f\\u0000.form")]
    assert {f.message for f in found if f.code == "FILE_NAME_UNSAFE"} == {
        f"文件名{BIDI_WHAT}，不予接受", "文件名含有空字符（U+0000），无法保存"}
