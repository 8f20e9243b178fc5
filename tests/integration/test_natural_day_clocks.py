"""Clocks counted in natural days (日) and what the pages say of any clock's days, on both databases.

Found by the QA hunt on the legal clock. March 2026 has no holidays; 2026-03-02 is a Monday; 2026-04-04..06 is 清明
(Saturday to Monday). One light rule: yellow with at most ``yellow_days`` working days left or at most
``yellow_ratio`` of the budget left in its own unit; an extension (第四十二条) counts in working days (第八十二条).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from flask import render_template

from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, ExtendDeadline, ManualClock, RaiseSupervision, StartCase,
    SuspendClock, ensure_calendar_seeded,
)
from tests.helpers import open_task

REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
HEAD = Actor("head_yz", ("department_head", "reviewer"), "500103", "zhujian")
DATA = Path(__file__).resolve().parent.parent / "data" / "processes"

NATURAL_DAYS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_qa_nd" targetNamespace="http://tongban.test">
  <bpmn:process id="qa_natural_days" name="自然日时限" isExecutable="true">
    <bpmn:extensionElements>
      <tb:clock kind="legal" days="30"/>
      <tb:clock kind="committed" days="30"/>
    </bpmn:extensionElements>
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


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(3, 2))


def clocks(engine, case_id: int) -> dict:
    return {c["kind"]: c for c in engine.queries.case(REVIEWER, case_id)["clocks"]}


def inbox_light(engine, element: str) -> str:
    (found,) = [t for t in engine.queries.tasks(REVIEWER, limit=50).items if t["element_id"] == element]
    return found["light"]


@pytest.fixture
def natural_case(engine) -> int:
    """A case with 30-natural-day 法定 and 承诺 clocks, started Monday 2026-03-02: both due Wednesday 04-01."""
    ensure_calendar_seeded(engine)
    engine.identity.create_user(HEAD.username, display_name="科长", roles=HEAD.roles, district="500103",
                                department="zhujian")
    engine.handle(DeployDefinitions((("qa_natural_days.bpmn", NATURAL_DAYS),)))
    case_id = engine.handle(StartCase("qa_natural_days", REVIEWER)).case_id
    assert clocks(engine, case_id)["legal"]["due_date"] == "2026-04-01"
    return case_id


@pytest.fixture
def application(engine, database_url):
    """The web app on the test's engine, with the reviewer able to log in."""
    from app import create_app
    from app.runtime import set_engine
    from tests.pages_helpers import PASSWORD

    engine.identity.create_user(REVIEWER.username, display_name="渝中住建审查", roles=REVIEWER.roles,
                                district="500103", department="zhujian", password=PASSWORD)
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    return app


def applicant_page(application, engine, case_id: int) -> str:
    """The 办件查询 result the applicant reads (the part the query page and 我的办件 share)."""
    with application.test_request_context("/query"):
        return render_template("pages/_query_result.html", view=engine.applicants.view(case_id), error=None)


def deadline_text(page: str, label: str) -> str:
    """The words of one deadline on the applicant's page, blanks squeezed."""
    start = page.index(f"<dt>{label}</dt>")
    return " ".join(page[start:page.index("</dd>", start)].split())


def test_a_natural_day_clock_turns_yellow_on_the_same_day_in_the_inbox_the_case_and_the_supervision(
        engine, clock, natural_case):
    """One light per clock. The case page/API light (``Clock.light``), the inbox light of a task that follows the
    承诺 clock and the 督办 warning of the 法定 clock (both read the stored ``*_yellow_at``) turn yellow on the
    same day. A 30-日 clock due 04-01 with the default thresholds is yellow from 03-26 (6 natural days left); the
    stored instant was counted back 6 *working* days (03-24 00:00), so the inbox and the 法定 督办 warning
    (法定时限即将届满) went yellow two days before the case page did.
    """
    disagree = []
    for day in range(20, 32):
        clock.set(at(3, day))
        api = clocks(engine, natural_case)
        engine.handle(RaiseSupervision(natural_case))
        warned = any(e.event_type == "SupervisionRaised" and e.payload["kind"] == "legal_warning"
                     for e in engine.queries.events(natural_case))
        seen = (api["committed"]["light"], inbox_light(engine, "review"), api["legal"]["light"], warned)
        if seen[0] != seen[1] or (seen[2] in ("yellow", "red")) != warned:
            disagree.append((f"03-{day}", *seen))
    assert disagree == [], f"(day, case committed light, inbox light, case legal light, 法定督办预警已发): {disagree}"


def test_a_natural_day_clock_extension_is_told_in_the_unit_it_moved_the_due_date_by(engine, clock, natural_case,
                                                                                   application):
    """The extension the case page states is the one applied to the due date (第四十二条: the applicant is told the
    extension). 第四十二条's 10 days count in working days (第八十二条) whatever the clock's unit: a 30-日 法定
    clock due 04-01 extended by 10 moves to 04-16 (清明 04-04..06 skipped) and the page says 已延长 10 个工作日.
    Before, the date moved by 10 natural days (04-13) while the page said 工作日.
    """
    from tests.pages_helpers import client_for

    clock.set(at(3, 10))
    engine.handle(ExtendDeadline(natural_case, HEAD, 10, "需现场核查", approved_by=HEAD.username, clock="legal"))
    legal = clocks(engine, natural_case)["legal"]
    assert (legal["due_date"], legal["extended_days"], legal["unit"]) == ("2026-04-16", 10, "day")
    assert "经批准延长 10 个工作日" in legal["rule"]
    page = client_for(application, REVIEWER.username).get(f"/cases/{natural_case}").get_data(as_text=True)
    assert "2026-04-16，已延长 10 个工作日" in page and "已延长 10 日" not in page
    assert "剩 37 日 / 用 8 日" in page                          # left and used in the clock's own unit
    told = deadline_text(applicant_page(application, engine, natural_case), "法定办结期限")
    assert "2026-04-16，剩 37 日" in told and "经负责人批准延长 10 个工作日" in told


def test_the_applicant_reads_an_overdue_clock_as_overdue_even_while_it_is_paused(engine, clock, application):
    """办件查询 said 剩 -2 个工作日 of a clock two working days past its due date; and 暂停计时 of a clock paused
    after its deadline had passed, although such a pause moves nothing and the breach stands (第七十四条).
    A 20-working-day 法定 clock accepted Monday 03-02 is due 03-30.
    """
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("ac.bpmn", (DATA / "accept_clock.bpmn").read_bytes()),)))
    case_id = engine.handle(StartCase("accept_then_decide", REVIEWER)).case_id
    engine.handle(CompleteTask(open_task(engine, REVIEWER, "accept")["id"], REVIEWER, {}))
    clock.set(at(3, 27))
    assert deadline_text(applicant_page(application, engine, case_id), "法定办结期限") \
        == "<dt>法定办结期限</dt><dd> 2026-03-30，剩 1 个工作日"
    clock.set(at(4, 1))
    told = deadline_text(applicant_page(application, engine, case_id), "法定办结期限")
    assert told == "<dt>法定办结期限</dt><dd> 2026-03-30，已超期 2 个工作日"
    engine.handle(SuspendClock(case_id, REVIEWER, "special_procedure", "专家评审", ("legal",), "专家评审", 5))
    clock.set(at(4, 2))
    assert clocks(engine, case_id)["legal"]["light"] == "red"
    told = deadline_text(applicant_page(application, engine, case_id), "法定办结期限")
    assert told == "<dt>法定办结期限</dt><dd> 2026-03-30，已超期 3 个工作日（期限届满后暂停计时，不顺延）"
