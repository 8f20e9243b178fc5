"""Dry runs on both databases: every shipped scenario passes, failures are precise, nothing real is touched."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import ensure_calendar_seeded, is_bundle_file
from engine.persistence.models import Case, CaseEvent, ProcessDefinition, Timer
from tests.conftest import DATA, ROOT

SCENARIOS = sorted((ROOT / "processes").glob("*/scenarios/*.yaml"))
FORMS = [(p.name, p.read_bytes()) for p in sorted((ROOT / "forms").glob("*.form"))]
PARALLEL = (ROOT / "processes" / "parallel_approval" / "main.bpmn").read_bytes()


def draft(folder: Path) -> list[tuple[str, bytes]]:
    return [(f"{folder.name}/{p.name}", p.read_bytes()) for p in sorted(folder.iterdir())
            if p.suffix == ".bpmn" or is_bundle_file(p.name)]


def run(engine, scenario: str, bpmn: list[tuple[str, bytes]] | None = None):
    return engine.dryruns.run(bpmn or [("main.bpmn", PARALLEL)], FORMS, "s.yaml", scenario.encode())


def count(engine, model) -> int:
    with engine.database.read_sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def calendar(engine):
    ensure_calendar_seeded(engine)
    return engine


@pytest.mark.parametrize("path", SCENARIOS, ids=[f"{p.parent.parent.name}/{p.name}" for p in SCENARIOS])
def test_every_shipped_scenario_passes(calendar, path):
    result = calendar.dryruns.run(draft(path.parent.parent), FORMS, path.name, path.read_bytes())
    failed = [s for s in result.steps if not s["ok"]]
    assert result.ok, (result.errors, failed)
    assert result.path and result.deadlines
    assert count(calendar, Case) == 0 and count(calendar, ProcessDefinition) == 0


def test_a_wrong_expectation_fails_its_step_precisely_and_the_run_goes_on(calendar):
    result = run(calendar, """\
start: {by: window_clerk@500103/zwzx}
steps:
  - expect: {tasks: [review_zhujian], due: {legal: 2026-12-20, accept: 2026-11-30}}
  - complete: accept
    by: window_clerk@500103/zwzx
    data: {decision: reject, opinion: 不符合受理条件, materials_complete: false}
  - expect: {ended: true, path_contains: [end_done], path_excludes: [end_rejected]}
""")
    assert not result.ok
    first, completed, last = result.steps[1:]
    assert first == {"index": 1, "kind": "expect", "line": 3, "ok": False, "message":
                     "期望待办 [review_zhujian]，实际 [accept]；期望法定期限 2026-12-20，实际 2026-12-21"}
    assert completed["ok"] and "办件已办结" in completed["message"]
    assert not last["ok"] and last["message"] == (
        "期望经过 end_done，实际未经过（已经过：start, accept, accepted_gw, end_rejected）；期望不经过 end_rejected，实际经过了")
    assert result.path == {"start": 1, "accept": 1, "accepted_gw": 1, "end_rejected": 1}


def test_an_actor_outside_the_candidates_stops_the_run(calendar):
    result = run(calendar, """\
steps:
  - complete: accept
    by: window_clerk@500101
    data: {decision: accept, opinion: 受理}
  - complete: accept
    by: window_clerk@500103
    data: {decision: accept}
  - expect: {ended: true}
""")
    steps = result.steps
    assert steps[1]["message"] == "window_clerk@500101 不是环节 accept 的办理人（候选组：window_clerk@500103）"
    assert [s["ok"] for s in steps] == [True, False, False, False]
    assert steps[2]["message"] == steps[3]["message"] == "未执行：前面的步骤失败，演练已停止"


def test_form_errors_and_a_task_that_is_not_open_are_named(calendar):
    bad_form = run(calendar, "steps:\n  - complete: accept\n    by: window_clerk@500103\n    data: {decision: accept}\n")
    assert bad_form.steps[1]["message"].startswith("[FORM_INVALID]") and "opinion：必填项" in bad_form.steps[1]["message"]
    not_open = run(calendar, "steps:\n  - complete: review_zhujian\n    by: reviewer@500103/zhujian\n")
    assert not_open.steps[1]["message"] == "环节 review_zhujian 当前没有待办（当前待办：accept）"


def test_moving_the_clock_fires_due_timers(calendar):
    timer = (DATA / "processes" / "timer.bpmn").read_bytes()
    result = run(calendar, """\
start: {at: 2026-11-23T09:00:00+08:00, owning: "500103"}
steps:
  - advance: 1 hours
  - expect: {tasks: [review]}
  - advance: 90 minutes
  - expect: {tasks: [escalate], path_contains: [overdue_timer]}
  - to: 2026-11-22
""", [("timer.bpmn", timer)])
    assert [s["ok"] for s in result.steps] == [True, True, True, True, True, False]
    assert "触发到期定时器 1 次" in result.steps[3]["message"]
    assert result.steps[-1]["message"].startswith("时间不能倒退")


def test_a_draft_failing_lint_returns_the_findings_and_does_not_run(calendar):
    broken = PARALLEL.replace(b'<tb:form key="accept_application"/>', b'<tb:form key="no_such_form"/>')
    result = run(calendar, "steps:\n  - expect: {tasks: [accept]}\n", [("main.bpmn", broken)])
    assert not result.ok and result.steps == []
    assert ("TB_FORM_MISSING", "accept") in [(e["code"], e["element"]) for e in result.errors]


def test_a_bad_scenario_is_reported_with_lines_and_nothing_runs(calendar):
    result = run(calendar, "steps:\n  - advance: soon\n")
    assert not result.ok and result.steps == []
    assert [(e["code"], e["line"]) for e in result.errors] == [("SCENARIO_INVALID", 2)]


def test_a_draft_forms_are_taken_by_their_ids_and_a_mismatch_is_refused(calendar):
    result = calendar.dryruns.run_draft(PARALLEL.decode(), {"accept_application": {"id": "other"}},
                                        "steps:\n  - expect: {tasks: [accept]}\n")
    assert [e["code"] for e in result.errors] == ["FORM_KEY_MISMATCH"]


def test_nothing_real_is_written(calendar):
    scenario = (ROOT / "processes" / "parallel_approval" / "scenarios" / "all_approve.yaml").read_text()
    assert run(calendar, scenario).ok
    for model in (Case, CaseEvent, ProcessDefinition, Timer):
        assert count(calendar, model) == 0, model


def test_without_the_holiday_calendar_the_deadlines_are_flagged_as_estimates(engine):
    scenario = (ROOT / "processes" / "parallel_approval" / "scenarios" / "all_approve.yaml").read_text()
    result = run(engine, scenario)
    assert result.ok        # no holiday falls in these weeks, so the estimate is the same date
    assert [w["code"] for w in result.warnings] == ["DRYRUN_DEADLINE_PROVISIONAL"]
    ensure_calendar_seeded(engine)
    assert run(engine, scenario).warnings == []


def test_a_special_procedure_is_rehearsed_with_its_procedure_and_expected_days(calendar):
    """QA: every 特别程序 step failed (CLOCK_INVALID), and procedure/expected_days were unknown keys."""
    result = run(calendar, """\
start: {by: window_clerk@500103/zwzx}
steps:
  - complete: accept
    by: window_clerk@500103/zwzx
    data: {decision: accept, opinion: 材料齐全, materials_complete: true}
  - expect: {due: {legal: 2026-12-21}}
  - suspend: special_procedure
    by: window_clerk@500103/zwzx
    reason: 组织专家评审
    clocks: legal
    procedure: 专家评审
    expected_days: 10
  - advance: 10 workdays
  - resume: legal
    by: window_clerk@500103/zwzx
  - expect: {due: {legal: 2027-01-01}}
""")
    assert result.ok, (result.errors, [s for s in result.steps if not s["ok"]])
    assert result.steps[3]["message"] == "暂停计时（special_procedure，专家评审 10 个工作日）：legal"


def test_a_special_procedure_the_law_does_not_name_is_refused_with_its_line(calendar):
    result = run(calendar, """\
start: {by: window_clerk@500103/zwzx}
steps:
  - suspend: special_procedure
    by: window_clerk@500103/zwzx
    procedure: 内部讨论
    expected_days: 10
""")
    assert not result.ok and [e["line"] for e in result.errors] == [5]
    assert "第四十五条" in result.errors[0]["message"]
