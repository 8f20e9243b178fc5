"""A case's 法定/承诺 clocks on both databases: due instants, pauses, extensions, lights in the inbox."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import (
    CST, Actor, CompleteTask, Conflict, ExtendDeadline, ExtensionNotApproved, Forbidden, InvalidInput, ManualClock, NotFound,
    ResumeClock, StartCase, SuspendClock, ensure_calendar_seeded,
)
from tests.helpers import ACCEPT, APPROVE, CLERK, GUIHUA, OUTSIDER, XIAOFANG, ZHUJIAN, deploy_shipped, open_task

HEAD = Actor("head_yz", ("department_head", "reviewer"), "500103", "zhujian")


@pytest.fixture
def clock() -> ManualClock:
    """Thursday 2026-02-12 10:00 CST: the 2026 test vectors of DOMAIN.md 6.4 start here."""
    return ManualClock(datetime(2026, 2, 12, 10, 0, tzinfo=CST))


def started_case(engine) -> int:
    """The calendar seeded, the shipped processes deployed, the 渝中 住建 head created; a parallel approval started."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.identity.create_user(HEAD.username, display_name="科长", roles=HEAD.roles, district="500103",
                                department="zhujian")
    return engine.handle(StartCase("parallel_approval", CLERK)).case_id


@pytest.fixture
def case_id(engine):
    return started_case(engine)


def clocks(engine, case_id, viewer=CLERK):
    return {c["kind"]: c for c in engine.queries.case(viewer, case_id)["clocks"]}


def test_both_clocks_start_with_the_case_and_their_due_instants_are_stored(engine, case_id):
    case = engine.queries.case(CLERK, case_id)
    assert case["legal_due_at"] == datetime(2026, 3, 19, 0, 0, tzinfo=CST)       # T0 + 20 WD = 03-18
    assert case["committed_due_at"] == datetime(2026, 3, 5, 0, 0, tzinfo=CST)    # 10 WD, Sat 02-28 works: 03-04
    legal = clocks(engine, case_id)["legal"]
    assert (legal["due_date"], legal["status"], legal["light"], legal["left"]) == ("2026-03-18", "confirmed",
                                                                                  "green", 20)


def test_a_correction_pause_moves_the_legal_due_date_by_the_working_days_it_covered(engine, clock, case_id):
    clock.set(datetime(2026, 2, 24, 10, 0, tzinfo=CST))
    engine.handle(SuspendClock(case_id, CLERK, "correction", "申请人补正土地证明"))
    paused = engine.queries.case(CLERK, case_id)
    assert paused["legal_due_at"] is None and clocks(engine, case_id)["legal"]["light"] == "paused"
    clock.set(datetime(2026, 2, 27, 10, 0, tzinfo=CST))
    engine.handle(ResumeClock(case_id, CLERK))
    legal = clocks(engine, case_id)["legal"]
    assert legal["due_date"] == "2026-03-23" and "补正" in legal["rule"]
    assert engine.queries.case(CLERK, case_id)["legal_due_at"] == datetime(2026, 3, 24, 0, 0, tzinfo=CST)
    kinds = [e.event_type for e in engine.queries.events(case_id)]
    assert kinds.count("ClockPaused") == 1 and kinds.count("ClockResumed") == 1


def test_illegal_clock_moves_are_refused_and_change_nothing(engine, case_id):
    before = engine.queries.case(CLERK, case_id)
    with pytest.raises(Conflict):
        engine.handle(ResumeClock(case_id, CLERK))
    with pytest.raises(InvalidInput):
        engine.handle(SuspendClock(case_id, CLERK, "correction", "   "))
    with pytest.raises(Forbidden):
        engine.handle(ExtendDeadline(case_id, CLERK, 10, "需要专家评审", approved_by=CLERK.username))
    with pytest.raises(NotFound):
        engine.handle(SuspendClock(case_id, OUTSIDER, "correction", "越权"))
    after = engine.queries.case(CLERK, case_id)
    assert (after["version"], after["event_count"]) == (before["version"], before["event_count"])


def test_a_head_extends_directly_approving_by_acting_and_only_once(engine, case_id):
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))   # the head now reviews it
    engine.handle(ExtendDeadline(case_id, HEAD, 10, "案情复杂，需延长审查", told_to_applicant=True))
    assert clocks(engine, case_id)["legal"]["due_date"] == "2026-04-01"           # 03-18 + 10 WD
    with pytest.raises(Conflict):
        engine.handle(ExtendDeadline(case_id, HEAD, 5, "再次延长"))
    event = [e for e in engine.queries.events(case_id) if e.event_type == "DeadlineExtended"][0]
    assert (event.payload["approved_by"], event.payload["days"], event.actor) == (HEAD.username, 10, HEAD.username)


def test_a_clerk_cannot_record_an_approval_the_head_never_gave(engine, case_id):
    before = engine.queries.case(CLERK, case_id)
    with pytest.raises(ExtensionNotApproved) as refused:
        engine.handle(ExtendDeadline(case_id, CLERK, 10, "案情复杂", approved_by=HEAD.username))
    assert "延期申请" in refused.value.message
    with pytest.raises(ExtensionNotApproved):         # nor a head name another head
        engine.handle(ExtendDeadline(case_id, HEAD, 10, "案情复杂", approved_by="head_other"))
    after = engine.queries.case(CLERK, case_id)
    assert (after["version"], after["event_count"]) == (before["version"], before["event_count"])


def test_the_inbox_colours_a_task_by_its_budget_and_filters_by_light(engine, clock, case_id):
    # 受理 has a 5-working-day budget: due Thu 02-26 (Sat 02-14 is a 调休 workday, 02-15..23 are 春节).
    def light():
        return open_task(engine, CLERK, "accept")["light"]
    clock.set(datetime(2026, 2, 24, 12, 0, tzinfo=CST))
    assert light() == "green"
    clock.set(datetime(2026, 2, 25, 9, 0, tzinfo=CST))
    assert light() == "yellow"
    clock.set(datetime(2026, 2, 27, 9, 0, tzinfo=CST))
    assert light() == "red"
    assert [t["element_id"] for t in engine.queries.tasks(CLERK, light="red").items] == ["accept"]
    assert engine.queries.tasks(CLERK, light="green").items == []


def test_closing_the_case_closes_its_clocks_and_clears_the_due_instants(engine, case_id):
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang")):
        engine.handle(CompleteTask(open_task(engine, actor, element)["id"], actor, APPROVE))
    case = engine.queries.case(CLERK, case_id)
    assert case["status"] == "completed" and case["legal_due_at"] is None
    assert {c["light"] for c in case["clocks"]} == {"closed"}
    with pytest.raises(Conflict):
        engine.handle(SuspendClock(case_id, CLERK, "correction", "已办结"))


def test_a_deadline_into_an_unloaded_year_is_provisional_until_that_year_is_imported(engine, clock, database_url):
    from pathlib import Path

    from app import create_app
    from app.runtime import set_engine
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    clock.set(datetime(2026, 12, 10, 10, 0, tzinfo=CST))
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    legal = clocks(engine, case_id)["legal"]
    assert legal["status"] == "provisional" and legal["due_date"].startswith("2027-01")
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["calendar", "provisional"])
    assert listed.exit_code == 0 and engine.queries.case(CLERK, case_id)["case_no"] in listed.output
    line = next(x for x in listed.output.splitlines() if x.startswith(engine.queries.case(CLERK, case_id)["case_no"]))
    assert line.split("  ", 1)[1] == f"法定 {legal['due_date']}，承诺 {clocks(engine, case_id)['committed']['due_date']}"
    fixture = Path(__file__).resolve().parent.parent / "data" / "calendar" / "2027.yaml"
    imported = runner.invoke(args=["calendar", "import", str(fixture)])
    assert imported.exit_code == 0, imported.output
    assert "其中 1 个发生变化" in imported.output
    after = clocks(engine, case_id)["legal"]
    assert after["status"] == "confirmed"
    recomputed = [e for e in engine.queries.events(case_id) if e.event_type == "DeadlinesRecomputed"]
    assert len(recomputed) == 1 and recomputed[0].payload["after"]["deadline_provisional"] is False
    assert runner.invoke(args=["calendar", "provisional"]).output.strip().endswith("共 0 个办件的时限为暂定（跨入尚未载入节假日安排的年份）")


DATA = __import__("pathlib").Path(__file__).resolve().parent.parent / "data" / "processes"
REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")


@pytest.fixture
def accept_case(engine):
    ensure_calendar_seeded(engine)
    from engine import DeployDefinitions
    engine.handle(DeployDefinitions((("ac.bpmn", (DATA / "accept_clock.bpmn").read_bytes()),)))

    def start():
        ref = engine.handle(StartCase("accept_then_decide", REVIEWER))
        return ref.case_id, ref.created_task_ids[0]
    return start


@pytest.mark.parametrize("accepted_on, notice_on, t0, deemed", [
    ((2, 25), None, "2026-02-25", False),          # inside the 5-working-day window (ends 02-26)
    ((2, 27), None, "2026-02-12", True),           # late, no notice: deemed accepted on receipt
    ((3, 3), (2, 24), "2026-03-03", False),        # a timely one-time 补正 notice, accepted after it
])
def test_a_clock_starting_at_acceptance_applies_the_deemed_acceptance_rule(engine, clock, accept_case,
                                                                          accepted_on, notice_on, t0, deemed):
    case_id, task_id = accept_case()
    assert clocks(engine, case_id, REVIEWER)["legal"]["status"] == "not_started"
    for premature in (ResumeClock(case_id, REVIEWER, ("legal",)),
                      SuspendClock(case_id, REVIEWER, "special_procedure", "听证", ("legal",), "听证", 10)):
        with pytest.raises(InvalidInput) as refused:
            engine.handle(premature)
        assert refused.value.code == "CLOCK_NOT_STARTED"     # the code extension requests already answer
    if notice_on:
        clock.set(datetime(2026, *notice_on, 10, 0, tzinfo=CST))
        engine.handle(SuspendClock(case_id, REVIEWER, "correction", "一次性告知补正", ("legal",)))
    clock.set(datetime(2026, *accepted_on, 10, 0, tzinfo=CST))
    engine.handle(CompleteTask(task_id, REVIEWER, {}))
    legal = clocks(engine, case_id, REVIEWER)["legal"]
    assert legal["t0"] == t0
    started = [e for e in engine.queries.events(case_id) if e.event_type == "ClocksStarted"][0]
    assert started.payload["clocks"]["legal"]["deemed"] is deemed
    assert ("第三十二条" in started.payload["clocks"]["legal"]["explanation"]) is deemed


@pytest.fixture
def paths_case(engine):
    ensure_calendar_seeded(engine)
    from engine import DeployDefinitions
    engine.handle(DeployDefinitions((("ap.bpmn", (DATA / "accept_paths_clock.bpmn").read_bytes()),)))

    def start():
        ref = engine.handle(StartCase("accept_paths", REVIEWER))
        return ref.case_id, ref.created_task_ids[0]
    return start


def _timer_due(engine, case_id):
    from sqlalchemy import select

    from engine.persistence.models import Timer
    with engine.database.read_sessions() as session:
        return [t.due_at for t in session.scalars(select(Timer).where(Timer.case_id == case_id))]


@pytest.mark.parametrize("path, t0", [("direct", "2026-02-24"), ("corrected", "2026-03-09")])
def test_any_accepting_task_starts_the_clock_and_a_notice_task_stops_the_deemed_acceptance_window(
        engine, clock, paths_case, path, t0):
    case_id, review = paths_case()
    clock.set(datetime(2026, 2, 24, 10, 0, tzinfo=CST))          # 4th working day after receipt on 02-12
    created = engine.handle(CompleteTask(review, REVIEWER, {"path": path})).created_task_ids
    if path == "corrected":
        created = engine.handle(CompleteTask(created[0], REVIEWER, {})).created_task_ids
        notices = [e for e in engine.queries.events(case_id) if e.event_type == "ClockPaused"]
        assert [(n.element_id, n.payload["reason_kind"], n.payload["clocks"]) for n in notices] == [
            ("notice", "correction", ["legal"])]
        clock.set(datetime(2026, 3, 9, 10, 0, tzinfo=CST))      # 补正 arrives long after the window closed
    assert clocks(engine, case_id, REVIEWER)["legal"]["status"] == "not_started"
    engine.handle(CompleteTask(created[0], REVIEWER, {}))
    legal = clocks(engine, case_id, REVIEWER)["legal"]
    started = [e for e in engine.queries.events(case_id) if e.event_type == "ClocksStarted"][0]
    assert legal["t0"] == t0 and started.payload["clocks"]["legal"]["deemed"] is False
    # accepted_on() is the clock's T0: the timer waits until the end of the 2nd working day after it.
    expected = {"direct": datetime(2026, 2, 27, 0, 0, tzinfo=CST),
                "corrected": datetime(2026, 3, 12, 0, 0, tzinfo=CST)}
    assert _timer_due(engine, case_id) == [expected[path]]

