"""办件查询 tells an overdue clock by its light, in its own unit; and an application deemed accepted is accepted.

Both databases. March 2026 has no holidays; 2026-04-04..06 is 清明 (Saturday to Monday). A 20-working-day 法定
clock accepted Friday 03-06 is due Friday 04-03; on Saturday 04-04 no working day has passed since, so the days
left are 0 while the clock is overdue (red). An application received Monday 03-02 that nobody accepted or told to
correct is accepted by law on 03-02 once the window passes (第三十二条; the worker's sweep starts its clocks).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from flask import render_template

from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, Replayer, StartCase, ensure_calendar_seeded,
)
from engine.acceptance_deemed import DEEMED_REASON, deemed_case_ids
from engine.commands import RecomputeDeadlines
from engine.persistence.models import Case
from engine.persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.helpers import open_task
from tests.integration.test_natural_day_clocks import at, clock  # noqa: F401 (fixture)

REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
WORKER = Actor.system("timer-worker")
DATA = Path(__file__).resolve().parent.parent / "data" / "processes"

NATURAL_DAYS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_qa_nd2" targetNamespace="http://tongban.test">
  <bpmn:process id="qa_natural_days_query" name="自然日时限" isExecutable="true">
    <bpmn:extensionElements><tb:clock kind="legal" days="30"/></bpmn:extensionElements>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="审查">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


@pytest.fixture
def application(engine, database_url):
    """The web app on the test's engine."""
    from app import create_app
    from app.runtime import set_engine

    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    return app


def applicant_page(application, engine, case_id: int) -> str:
    """The 办件查询 result the applicant reads (the part the query page and 我的办件 share)."""
    with application.test_request_context("/query"):
        return render_template("pages/_query_result.html", view=engine.applicants.view(case_id), error=None)


def deadline_text(page: str, label: str = "法定办结期限") -> str:
    """The words of one deadline on the applicant's page, blanks squeezed."""
    start = page.index(f"<dt>{label}</dt>")
    return " ".join(page[start:page.index("</dd>", start)].split())


def legal(engine, case_id: int) -> dict:
    (row,) = [d for d in engine.applicants.view(case_id)["deadlines"] if d["kind"] == "legal"]
    return row


@pytest.fixture
def accept_clock(engine) -> None:
    """accept_clock.bpmn: a 20-working-day 法定 clock that starts at 受理 (``accept``)."""
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("ac.bpmn", (DATA / "accept_clock.bpmn").read_bytes()),)))


def test_a_working_day_clock_due_friday_is_overdue_on_saturday_not_zero_days_left(engine, clock, application,
                                                                                  accept_clock):
    """On the weekend right after a Friday due date the days left are 0 and the light is red: the page said
    「剩 0 个工作日」 of a clock already overdue, and the lookup gave no light or unit to tell otherwise."""
    clock.set(at(3, 6))
    case_id = engine.handle(StartCase("accept_then_decide", REVIEWER)).case_id
    engine.handle(CompleteTask(open_task(engine, REVIEWER, "accept")["id"], REVIEWER, {}))
    clock.set(at(4, 3))
    assert deadline_text(applicant_page(application, engine, case_id)) \
        == "<dt>法定办结期限</dt><dd> 2026-04-03，剩 0 个工作日"               # the due date itself: on time
    clock.set(at(4, 4))
    row = legal(engine, case_id)
    assert (row["due_date"], row["left"], row["light"], row["overdue"]) == ("2026-04-03", 0, "red", True)
    assert (row["unit"], row["unit_zh"]) == ("workday", "个工作日")
    from app.api.rating_schemas import DeadlineSchema      # the public lookup's JSON carries them too
    shown = DeadlineSchema().dump(row)
    assert (shown["light"], shown["overdue"], shown["unit"], shown["unit_zh"]) == ("red", True, "workday", "个工作日")
    assert deadline_text(applicant_page(application, engine, case_id)) == "<dt>法定办结期限</dt><dd> 2026-04-03，已超期"
    clock.set(at(4, 7))                                               # 清明 Monday passed: one working day late
    assert deadline_text(applicant_page(application, engine, case_id)) \
        == "<dt>法定办结期限</dt><dd> 2026-04-03，已超期 1 个工作日"


def test_a_natural_day_clock_is_told_in_days_on_time_and_overdue(engine, clock, application):
    """A 30-日 clock started Monday 03-02 is due Wednesday 04-01; the lookup's unit is 日 whatever the budget text."""
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("qa_nd.bpmn", NATURAL_DAYS),)))
    case_id = engine.handle(StartCase("qa_natural_days_query", REVIEWER)).case_id
    clock.set(at(3, 30))
    row = legal(engine, case_id)
    assert (row["unit"], row["unit_zh"], row["light"], row["overdue"]) == ("day", "日", "yellow", False)
    assert deadline_text(applicant_page(application, engine, case_id)) == "<dt>法定办结期限</dt><dd> 2026-04-01，剩 2 日"
    clock.set(at(4, 4))
    assert legal(engine, case_id)["overdue"] is True
    assert deadline_text(applicant_page(application, engine, case_id)) \
        == "<dt>法定办结期限</dt><dd> 2026-04-01，已超期 3 日"


def sweep(engine) -> list[int]:
    """What the worker's wake-up does for deemed acceptances: pick the cases, recompute each with the reason."""
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        ids = deemed_case_ids(uow, engine.clock.now(), engine.services.calendar.get(), limit=50)
    for case_id in ids:
        engine.handle(RecomputeDeadlines(case_id, DEEMED_REASON, actor=WORKER))
    return ids


def accepted_at(engine, case_id: int) -> datetime | None:
    with engine.database.read_sessions() as session:
        value = session.get(Case, case_id).accepted_at
    return None if value is None else value.astimezone(CST)


def test_an_application_deemed_accepted_is_accepted_on_its_receipt_date_and_told_so(engine, clock, application,
                                                                                   accept_clock):
    """第三十二条: "自收到申请材料之日起即为受理". The worker's deemed start set ``accepted_at`` to its own sweep
    (03-10), so the metrics counted the acceptance on the wrong day, and 办件查询 still said 已收件 (收件窗口正在审核…)
    until someone completed a task. Now the case is accepted at its receipt (03-02 10:00, the instant the
    deemed clock's T0 comes from) and the applicant reads that it is accepted by law; the later 受理 moves
    nothing, and work after it reads 审查中."""
    case_id = engine.handle(StartCase("accept_then_decide", REVIEWER)).case_id
    clock.set(at(3, 10, 0))
    assert sweep(engine) == [case_id]
    assert accepted_at(engine, case_id) == at(3, 2)
    view = engine.applicants.view(case_id)
    assert (view["stage"], view["stage_label"]) == ("accepted", "已受理（逾期未告知，依法视为受理）")
    assert "自收件之日起视为受理" in view["hint"] and view["next_step"] == "受理"
    page = applicant_page(application, engine, case_id)
    assert "已受理（逾期未告知，依法视为受理）" in page and "2026-03-30，剩 14 个工作日" in deadline_text(page)
    clock.set(at(3, 12))
    engine.handle(CompleteTask(open_task(engine, REVIEWER, "accept")["id"], REVIEWER, {}))
    assert accepted_at(engine, case_id) == at(3, 2)
    assert engine.applicants.view(case_id)["stage"] == "reviewing"
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence


def test_an_application_accepted_in_time_is_accepted_when_it_was(engine, clock, accept_clock):
    """An ordinary 受理 inside the window keeps its own instant and its plain 已受理."""
    case_id = engine.handle(StartCase("accept_then_decide", REVIEWER)).case_id
    clock.set(at(3, 4))
    engine.handle(CompleteTask(open_task(engine, REVIEWER, "accept")["id"], REVIEWER, {}))
    assert accepted_at(engine, case_id) == at(3, 4)
    view = engine.applicants.view(case_id)
    assert (view["stage"], view["stage_label"]) == ("accepted", "已受理")
    clock.set(at(3, 10))
    assert sweep(engine) == []
