"""The service layer with a fake unit of work: the command rules without any database."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.calendar_functions import CalendarProvider
from engine.clock import CST, ManualClock
from engine.commands import ClaimTask, CompleteTask, StartCase
from engine.errors import Conflict, FormInvalid, NotFound
from engine.case_start import start_case
from engine.handlers import Services, claim_task, complete_task
from engine.spiff.runner import WorkflowRunner
from engine.spiff.script_env import safe_script_engine
from tests.fakes import FakeCases, FakeCatalog, FakeUnitOfWork
from tests.helpers import ACCEPT, APPROVE, CLERK, GUIHUA, OUTSIDER, XIAOFANG, ZHUJIAN, ZHUJIAN_2

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def world():
    clock = ManualClock(datetime(2026, 11, 23, 9, tzinfo=CST))
    store, catalog = FakeCases(), FakeCatalog()
    catalog.add(ROOT / "processes" / "parallel_approval" / "main.bpmn", "parallel_approval")
    uow = FakeUnitOfWork(store, catalog)
    calendar = CalendarProvider(lambda: WorkCalendar.from_schedules(facts_from_chinesecalendar([2026])))
    svc = Services(clock=clock, runner=WorkflowRunner(safe_script_engine(), clock), catalog=catalog,
                   uow=lambda: uow, calendar=calendar)
    return svc, store, uow


def tasks_at(store, element_id):
    return [t for t in store.tasks.values() if t["element_id"] == element_id and t["state"] == "open"]


def test_starting_a_case_creates_the_first_task_for_the_receiving_window(world):
    svc, store, uow = world
    ref = start_case(StartCase("parallel_approval", CLERK), svc)
    (accept,) = tasks_at(store, "accept")
    assert accept["candidate_groups"] == ["window_clerk@500103"]
    assert ref.case_no == "TB20261123000001" and uow.committed == 1
    assert [e["event_type"] for e in store.events] == ["CaseStarted", "ClocksStarted", "FlowAdvanced", "TaskCreated"]


def test_completing_the_parallel_reviews_ends_the_case(world):
    svc, store, _ = world
    start_case(StartCase("parallel_approval", CLERK), svc)
    complete_task(CompleteTask(tasks_at(store, "accept")[0]["id"], CLERK, ACCEPT), svc)
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang")):
        ref = complete_task(CompleteTask(tasks_at(store, element)[0]["id"], actor, APPROVE), svc)
    assert ref.status == "completed"
    assert store.events[-1]["event_type"] == "CaseCompleted"


def test_each_event_links_to_the_previous_one(world):
    svc, store, _ = world
    start_case(StartCase("parallel_approval", CLERK), svc)
    complete_task(CompleteTask(tasks_at(store, "accept")[0]["id"], CLERK, ACCEPT), svc)
    for previous, event in zip(store.events, store.events[1:]):
        assert event["prev_hash"] == previous["hash"] and event["seq"] == previous["seq"] + 1


def test_invalid_form_data_rolls_back_everything(world):
    svc, store, uow = world
    start_case(StartCase("parallel_approval", CLERK), svc)
    before = (len(store.events), dict(store.cases[1]))
    with pytest.raises(FormInvalid):
        complete_task(CompleteTask(tasks_at(store, "accept")[0]["id"], CLERK, {"decision": 3}), svc)
    assert (len(store.events), store.cases[1]) == before and uow.committed == 1


def test_a_user_outside_the_candidate_groups_cannot_see_the_task(world):
    svc, store, _ = world
    start_case(StartCase("parallel_approval", CLERK), svc)
    with pytest.raises(NotFound):
        claim_task(ClaimTask(tasks_at(store, "accept")[0]["id"], OUTSIDER), svc)


def test_a_claimed_task_belongs_to_its_assignee(world):
    svc, store, _ = world
    start_case(StartCase("parallel_approval", CLERK), svc)
    complete_task(CompleteTask(tasks_at(store, "accept")[0]["id"], CLERK, ACCEPT), svc)
    review = tasks_at(store, "review_zhujian")[0]["id"]
    claim_task(ClaimTask(review, ZHUJIAN), svc)
    with pytest.raises(Conflict):
        complete_task(CompleteTask(review, ZHUJIAN_2, APPROVE), svc)
    complete_task(CompleteTask(review, ZHUJIAN, APPROVE), svc)
    assert store.tasks[review]["state"] == "completed" and store.tasks[review]["completed_by"] == ZHUJIAN.username
