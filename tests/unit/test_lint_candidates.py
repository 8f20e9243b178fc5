"""Lint flags candidate groups nobody can match: an unknown role, a literal district or department not in the org."""
from __future__ import annotations

import pytest

from engine.expressions import Evaluator
from engine.lint import DeployedFacts, LintLimits, lint_files
from tests.bpmn_factory import diagram

ORG = DeployedFacts(form=lambda key: None, districts=frozenset({"500000", "500103", "500101"}),
                    departments=frozenset({("500103", "zhujian"), ("500103", "zwzx"), ("500101", "zwzx")}))
CODES = ("LINT_CANDIDATE_UNKNOWN_ROLE", "LINT_CANDIDATE_UNKNOWN_DISTRICT", "LINT_CANDIDATE_UNKNOWN_DEPARTMENT")


def candidates(groups: str, deployed: DeployedFacts = ORG) -> list[tuple[str, str | None, str]]:
    ext = f'<tb:assignment candidateGroups="{groups}"/>'
    findings = lint_files([("t.bpmn", diagram(task_extensions=ext))], [], Evaluator(),
                          LintLimits(10**7, 10**6), deployed)
    return [(f.code, f.element_id, f.severity) for f in findings if f.code in CODES]


@pytest.mark.parametrize(("groups", "code", "severity"), [
    ("wizard@999999/nothing", "LINT_CANDIDATE_UNKNOWN_ROLE", "error"),
    ("applicant", "LINT_CANDIDATE_UNKNOWN_ROLE", "error"),
    ("reviewer@599999/zhujian", "LINT_CANDIDATE_UNKNOWN_DISTRICT", "error"),
    ("reviewer@500103/nothing", "LINT_CANDIDATE_UNKNOWN_DEPARTMENT", "error"),
    ("reviewer@500101/zhujian", "LINT_CANDIDATE_UNKNOWN_DEPARTMENT", "error"),  # another district has it
])
def test_a_group_nobody_can_match_is_a_finding(groups, code, severity):
    assert candidates(groups) == [(code, "task", severity)]


def test_the_message_names_the_task_the_group_and_what_is_unknown():
    ext = '<tb:assignment candidateGroups="wizard@500103, reviewer@500103/nothing"/>'
    findings = lint_files([("t.bpmn", diagram(task_extensions=ext))], [], Evaluator(), LintLimits(10**7, 10**6), ORG)
    messages = {f.code: f.message for f in findings if f.code in CODES}
    assert "用户任务 task 的候选组 wizard@500103 中的角色 wizard 不存在" in messages["LINT_CANDIDATE_UNKNOWN_ROLE"]
    assert "区县 500103 没有部门 nothing" in messages["LINT_CANDIDATE_UNKNOWN_DEPARTMENT"]
    assert all(f.file == "t.bpmn" for f in findings if f.code in CODES)


@pytest.mark.parametrize("groups", [
    "reviewer", "supervisor@500000", "reviewer@500103/zhujian", "window_clerk@${receiving}",
    "reviewer@${owning}/zhujian", "reviewer@${owning}/${department}", "department_head@${deciding}/${dept}",
    "reviewer@${from_district}/zwzx", "reviewer@${owning}/renfang",  # placeholders are known only at run time
])
def test_known_codes_and_placeholders_are_clean(groups):
    assert candidates(groups) == []


def test_without_an_organisation_only_the_role_is_checked():
    bare = DeployedFacts(form=lambda key: None)
    assert candidates("reviewer@599999/nothing", bare) == []
    assert candidates("wizard@599999/nothing", bare) == [("LINT_CANDIDATE_UNKNOWN_ROLE", "task", "error")]
