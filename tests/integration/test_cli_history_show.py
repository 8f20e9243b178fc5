"""``tongban history show``: the case's timeline as text, one event a line with each clock as it stood then."""
from __future__ import annotations

from engine import CompleteTask, StartCase, ensure_calendar_seeded
from tests.helpers import ACCEPT, CLERK, deploy_shipped, open_task


def test_the_timeline_names_each_clock_and_its_state_at_every_event(engine, clock, runner):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case = engine.handle(StartCase("parallel_approval", CLERK))
    clock.advance(hours=1)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    shown = runner.invoke(args=["history", "show", case.case_no])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith(f"办件 {case.case_no}（parallel_approval 第 1 版）：记录完整（")
    received = next(line for line in lines if line.startswith("#1 "))
    assert received.endswith("法定:未起算 承诺:未起算"), received
    last = lines[-1]
    assert "法定:计时中 剩" in last and "承诺:计时中 剩" in last, last
