"""Scenario files for dry runs: what they may say, and every mistake reported with its line (no database)."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from engine import CST, ScenarioInvalid, parse_scenario

SHIPPED = Path(__file__).resolve().parent.parent.parent / "processes"

GOOD = """\
name: 演练
process: parallel_approval
start:
  at: 2026-11-23
  by: window_clerk@500103/zwzx
  owning: "500103"
  data: {applicant: 某公司, received_on: 2026-11-20}
steps:
  - complete: accept
    by: window_clerk@500103
    data: {decision: accept}
  - advance: 5 workdays
  - advance: 2 小时
  - to: 2026-12-01T10:00:00+08:00
  - suspend: correction
    by: reviewer_zj
    reason: 补正
    clocks: legal
  - resume: all
    by: reviewer_zj
  - return: review
    by: reviewer@500103/zhujian
  - expect:
      tasks: [review_zhujian]
      ended: false
      path_contains: [accept]
      path_excludes: [end_rejected]
      due: {legal: 2026-12-21, accept: null, committed: 2026-12-08T00:00:00+08:00}
"""


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ScenarioInvalid) as caught:
        parse_scenario("s.yaml", text.encode())
    return [(f["line"], f["message"]) for f in caught.value.details["findings"]]


def test_a_complete_scenario_is_read_into_typed_steps():
    scenario = parse_scenario("s.yaml", GOOD.encode())
    assert (scenario.name, scenario.process, scenario.owning) == ("演练", "parallel_approval", "500103")
    assert scenario.start_at == datetime(2026, 11, 23, 9, 0, tzinfo=CST)      # a date means 09:00 CST
    assert scenario.data == {"applicant": "某公司", "received_on": "2026-11-20"}   # dates as JSON carries them
    assert scenario.starter.role == "window_clerk" and scenario.starter.department == "zwzx"
    kinds = [(s.index, s.line, s.kind) for s in scenario.steps]
    assert kinds == [(1, 9, "complete"), (2, 12, "advance"), (3, 13, "advance"), (4, 14, "to"), (5, 15, "suspend"),
                     (6, 19, "resume"), (7, 21, "return"), (8, 23, "expect")]
    steps = scenario.steps
    assert steps[0].args["by"].district == "500103" and steps[0].args["data"] == {"decision": "accept"}
    assert steps[1].args == {"amount": 5, "unit": "workdays"} and steps[2].args == {"amount": 2, "unit": "hours"}
    assert steps[4].args["by"].username == "reviewer_zj" and steps[4].args["clocks"] == ("legal",)
    assert steps[5].args["clocks"] == ("legal", "committed")
    assert steps[7].args["due"] == {"legal": date(2026, 12, 21), "accept": None,
                                    "committed": datetime(2026, 12, 8, tzinfo=CST)}


def test_every_mistake_is_reported_with_its_line():
    found = problems("""\
name: 坏场景
start:
  by: clerk@500103
  colour: red
steps:
  - complete: accept
  - advance: 5 weeks
  - to: next monday
  - expect: {tasks: accept, ended: maybe}
  - complete: accept
    fly: true
    by: window_clerk@500103
  - wait: 3
""")
    lines = [line for line, _ in found]
    assert lines == [3, 4, 6, 7, 8, 9, 9, 11, 13]
    messages = "\n".join(m for _, m in found)
    for text in ("角色@区县", "未知的键 colour", "缺少 by", "5 weeks", "next monday", "expect.tasks 应为环节 id 列表",
                 "expect.ended 应为 true 或 false", "未知的键 fly", "应恰有一个动作"):
        assert text in messages, text
    assert all(m.startswith("s.yaml 第 ") for _, m in found)


def test_bad_yaml_and_an_empty_plan_are_refused():
    ((line, message),) = problems("steps: [unclosed\n")
    assert line == 2 and "YAML" in message
    assert "steps 应为非空列表" in problems("name: 空\nsteps: []\n")[0][1]
    assert "应为键值映射" in problems("- just a list\n")[0][1]


def test_every_shipped_process_has_a_scenario_that_parses():
    folders = [p for p in SHIPPED.iterdir() if (p / "main.bpmn").exists()]
    for folder in folders:
        files = sorted((folder / "scenarios").glob("*.yaml"))
        assert files, f"{folder.name} has no scenario"
        for path in files:
            assert parse_scenario(path.name, path.read_bytes()).steps
