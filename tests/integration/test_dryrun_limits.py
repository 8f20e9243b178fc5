"""Dry runs at the edges: a clock moved out of range fails its step with its line, hostile drafts do not run."""
from __future__ import annotations

import pytest

from tests.integration.test_dryrun import PARALLEL, calendar, run  # noqa: F401 - fixture
from tests.unit.test_timer_values import bounded, timer_diagram

NOT_RUN = "未执行：前面的步骤失败，演练已停止"


@pytest.mark.parametrize(("move", "said"), [
    ("to: 9999-12-31", "目标时间 9999-12-31T09:00:00+08:00 超出可计算范围（1990–2100 年）"),
    ("to: 2101-01-01T00:00:00+08:00", "目标时间 2101-01-01T00:00:00+08:00 超出可计算范围（1990–2100 年）"),
])
def test_a_clock_moved_out_of_the_calendar_fails_its_step_with_its_line_and_later_steps_do_not_run(calendar, move,
                                                                                                   said):
    result = run(calendar, f"steps:\n  - expect: {{tasks: [accept]}}\n  - {move}\n  - expect: {{tasks: [accept]}}\n")
    assert not result.ok and result.errors == []
    assert [(s["index"], s["line"], s["ok"]) for s in result.steps] == [(0, None, True), (1, 2, True), (2, 3, False),
                                                                      (3, 4, False)]
    assert said in result.steps[2]["message"]
    assert result.steps[3]["message"] == NOT_RUN


@pytest.mark.parametrize(("kind", "value"), [("timeCycle", '"R/PT0S"'), ("timeCycle", '"R-1/PT1H"'),
                                             ("timeDuration", '"P999999999Y"')])
def test_a_draft_whose_timer_would_hang_a_real_case_is_refused_not_played_on_the_manual_clock(calendar, kind, value):
    draft = timer_diagram(kind, value).replace(b'candidateGroups="reviewer"', b'candidateGroups="reviewer@500103"')
    result = bounded(lambda: run(calendar, "steps:\n  - advance: 1 hours\n", [("t.bpmn", draft)]))
    assert not result.ok and result.steps == []
    assert [(e["code"], e["element"]) for e in result.errors] == [("TIMER_INVALID", "timer")]


def test_a_draft_naming_an_unknown_role_is_refused_as_the_scenario_refuses_such_an_actor(calendar):
    draft = PARALLEL.replace(b'candidateGroups="window_clerk@${receiving}"', b'candidateGroups="wizard@${receiving}"')
    result = run(calendar, "steps:\n  - expect: {tasks: [accept]}\n", [("main.bpmn", draft)])
    assert not result.ok and result.steps == []
    assert ("LINT_CANDIDATE_UNKNOWN_ROLE", "accept") in [(e["code"], e["element"]) for e in result.errors]
    refused = run(calendar, "steps:\n  - complete: accept\n    by: wizard@500103\n")
    assert [e["code"] for e in refused.errors] == ["SCENARIO_INVALID"]
