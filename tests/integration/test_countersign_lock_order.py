"""Two members of a 会签 submitting at the same moment: one decides, the other gets a clean 409 (PostgreSQL).

The case is locked before the task (see ``tests/integration/test_case_lock_order.py`` and
``CaseRepository.lock_by_task``); here the deciding vote withdraws the sibling instance the other member is
completing, the path on which the old lock order deadlocked.
"""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Callable

import pytest

from engine import CST, CompleteTask, Conflict, ManualClock
from tests.gongcheng_helpers import at_design_review, gc_do, gc_states, gc_task, opinion
from tests.helpers import CLERK, XIAOFANG, ZHUJIAN


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2026-03-02 09:00 CST: a working day with no holiday within the stages' budgets."""
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


class AlongsideOnce:
    """Start ``other`` in a thread from inside the first call of ``wrapped``, and give it ``head_start`` s."""

    def __init__(self, wrapped: Callable[..., Any], other: Callable[[], Any], head_start: float):
        self.wrapped, self.other, self.head_start = wrapped, other, head_start
        self.outcome: Any = "not run"
        self.thread: threading.Thread | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run)
            self.thread.start()
            self.thread.join(timeout=self.head_start)     # it has locked what it locks first and now waits
        return self.wrapped(*args, **kwargs)

    def _run(self) -> None:
        try:
            self.outcome = self.other()
        except Exception as exc:  # noqa: BLE001 - the test shows what escaped
            self.outcome = exc

    def finish(self) -> Any:
        assert self.thread is not None, "the other command never ran"
        self.thread.join(timeout=60)
        return self.outcome


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_members_of_a_countersign_completing_at_once_get_a_result_or_a_clean_conflict(engine, monkeypatch):
    """Two 会签 members submit at the same moment: each gets their result or a clean 409, never a database error.

    设计方案会审 passes on 2 of 3. 规划 has approved; 住建 (the deciding second approval) and 消防 submit at the
    same moment. 住建's completion decides the vote and withdraws 消防's instance; 消防's request must then
    wait for the case and be refused cleanly (Conflict: 该任务已办结或已撤销, 409 over HTTP), as the README
    promises for every race on a case. (The inbox row was locked before the case row, so 消防's request held
    its own task row while it waited for the case, and 住建's commit, which cancels that row, waited for 消防:
    PostgreSQL broke the deadlock by killing 消防's statement, an unhandled 500 over HTTP. The same happened
    whenever a command that withdraws sibling tasks met a command on one of those siblings.)
    """
    case_id = at_design_review(engine)
    gc_do(engine, case_id, "guihua", "s2_design", opinion("s2_design", "approve"))
    zhujian = gc_task(engine, case_id, "zhujian", "s2_design")["id"]
    xiaofang = gc_task(engine, case_id, "xiaofang", "s2_design")["id"]
    runner = engine.services.runner
    alongside = AlongsideOnce(runner.complete, lambda: engine.handle(CompleteTask(
        xiaofang, XIAOFANG, opinion("s2_design", "approve"))), head_start=0.3)
    monkeypatch.setattr(runner, "complete", alongside)

    deciding = engine.handle(CompleteTask(zhujian, ZHUJIAN, opinion("s2_design", "approve")))
    late = alongside.finish()

    assert isinstance(late, Conflict), f"消防's late vote should be a clean 409, got {late!r}"
    assert deciding.status == "running"
    assert gc_states(engine, case_id, "s2_design") == [
        ("guihua", "completed"), ("zhujian", "completed"), ("xiaofang", "cancelled")]
    assert sorted(t["candidate_groups"][0] for t in engine.queries.case(CLERK, case_id)["tasks"]
                  if t["element_id"] == "s2_review") == ["reviewer@500103/guihua", "reviewer@500103/shengtai"]
