"""工改: the next stage's 受理 ends a 补正 (or 容缺) pause of the 承诺 clock made between two stages.

QA: between stages the window paused the clocks for 补正; only the 承诺 clock paused (the 法定 one rests between
periods). The next stage's 受理 started a fresh 法定 period and left the 承诺 clock paused until someone resumed
it by hand: no ``committed_due_at``, a grey light, no 承诺 督办. 第三十二条第一款第五项: the application is accepted
once the corrected materials are all in, so the 补正 is over at 受理. A 特别程序 (第四十五条) has its own end.

Stage 1 is accepted Monday 2026-03-02 (承诺 50 working days: due 05-14) and concluded Wednesday 03-04; the
window pauses on Thursday 03-05 and stage 2 is accepted Wednesday 03-11: 03-05, 03-06, 03-09 and 03-10 stood
still, so the 承诺 clock is due 4 working days later, on 05-20.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from app.runtime import get_engine
from engine import (
    CST, Actor, CompleteTask, EngineConfig, ManualClock, Replayer, TimerWorker, bootstrap, list_archives,
    load_case_history, read_history, verify_archive, verify_history,
)
from engine.legal_clock import Clock
from engine.persistence.models import Case
from tests.conftest import ROOT
from tests.goldens import HISTORIES
from tests.integration.test_clock_started_budget import rehashed
from tests.pages_helpers import PASSWORD, client_for
from tests.unit.archive_fixture import entries, rezip

from .test_gongcheng import ACCEPT, PASS, Story, clock, people  # noqa: F401 (fixtures)
from .test_http_api import assert_error

CORRECTION = {"reason_kind": "correction", "reason": "一次性告知：第二阶段设计方案缺日照分析，请补正"}
SPECIAL = {"reason_kind": "special_procedure", "reason": "设计方案组织专家评审", "procedure": "专家评审",
           "expected_days": 5, "clocks": ["committed"]}


def between_stages(story: Story, pause: dict[str, Any]) -> str:
    """Run stage 1 to its end on 03-04 and pause the clocks on 03-05 as the window; return the clocks' API."""
    story.do("fagai", "s1_accept", ACCEPT)
    story.at(3, 4)
    story.review("s1_review", {"guihua": "approve", "fagai": "approve"})
    story.do("fagai", "s1_conclude", PASS)
    story.at(3, 5, 10)
    base = f"/api/v1/cases/{story.case_id}/clocks"
    paused = story.client.post(f"{base}/suspend", json=pause, headers=story.people["clerk"].headers)
    assert paused.status_code == 200, paused.get_json()
    clocks = story.clocks()
    assert (clocks["legal"]["status"], clocks["committed"]["light"]) == ("between_periods", "paused")
    assert story.case()["committed_due_at"] is None
    return base


def stored_clock(app: Any, case_id: int, kind: str) -> Clock:
    with get_engine(app).database.read_sessions() as session:
        doc = session.execute(select(Case.clocks).where(Case.id == case_id)).scalar_one()
    return Clock.from_dict(doc[kind]["clock"])


def case_facts(app: Any, case_id: int) -> tuple[Any, ...]:
    with get_engine(app).database.read_sessions() as session:
        row = session.execute(select(Case.corrections, Case.visits, Case.committed_used_days, Case.committed_late)
                              .where(Case.id == case_id)).one()
    return tuple(row)


def events_of(app: Any, case_id: int, kind: str) -> list[Any]:
    return [e for e in get_engine(app).queries.events(case_id) if e.event_type == kind]


def test_the_next_stage_s_acceptance_resumes_the_committed_clock_paused_for_correction(app, client, people, clock):
    story = Story(client, people, clock, "social")
    base = between_stages(story, CORRECTION)
    engine = get_engine(app)
    assert engine.applicants.view(story.case_id)["stage"] == "correction"      # 待补正

    story.at(3, 11)
    story.do("guihua", "s2_accept", ACCEPT)              # the corrected materials are in: 受理 of stage 2
    clocks = story.clocks()
    assert (clocks["legal"]["t0"], clocks["legal"]["periods"], clocks["legal"]["paused"]) == ("2026-03-11", 2, False)
    committed = clocks["committed"]
    assert (committed["paused"], committed["light"], committed["due_date"]) == (False, "green", "2026-05-20")
    assert story.case()["committed_due_at"] is not None                  # 督办 and the inbox have a due again
    (started,) = [e for e in events_of(app, story.case_id, "ClocksStarted") if e.element_id == "s2_accept"]
    assert started.payload["resumed"] == {"committed": "correction"} and list(started.payload["clocks"]) == ["legal"]
    assert events_of(app, story.case_id, "ClockResumed") == []            # 受理 is the record, not a resume
    segments = [(s.kind.value, s.reason_kind, s.start.isoformat(), s.end, s.actor)
                for s in stored_clock(app, story.case_id, "committed").segments[1:]]
    assert segments == [("paused", "correction", "2026-03-05T10:00:00+08:00", started.occurred_at, "window_yz"),
                        ("running", None, "2026-03-11T09:00:00+08:00", None, "reviewer_gh")]
    design = [t for t in story.open_tasks("guihua") if t["element_id"] == "s2_design"]
    assert design and design[0]["case_committed_due_at"] is not None
    view = engine.applicants.view(story.case_id)
    assert view["stage"] == "accepted" and view["notice"] is None
    assert {d["kind"]: (d["paused"], d["due_date"]) for d in view["deadlines"]}["committed"] == (False, "2026-05-20")

    # The history timeline: paused after the pause, running from the 受理, which says what it resumed.
    history = client.get(f"/api/v1/cases/{story.case_id}/history", headers=people["clerk"].headers).get_json()
    states = {e["seq"]: {c["kind"]: c["state"] for c in e["clocks"]} for e in history["events"]}
    (shown,) = [e for e in history["events"] if e["event_type"] == "ClocksStarted" and e["element_id"] == "s2_accept"]
    assert shown["details"]["resumed"] == {"committed": "correction"}
    assert shown["resumed"] == [{"kind": "committed", "reason_kind": "correction", "label": "承诺时限（补正）"}]
    assert states[shown["seq"] - 1]["committed"] == "paused" and states[shown["seq"]] == {
        "legal": "running", "committed": "running"}

    refused = assert_error(client.post(f"{base}/resume", json={}, headers=people["clerk"].headers), 409,
                           "CLOCK_NOT_PAUSED")
    assert "承诺时限" in refused["message"] and "法定时限" in refused["message"]

    story.review("s2_design", {"guihua": "approve", "zhujian": "approve"})
    story.review("s2_review", {"shengtai": "approve", "guihua": "approve"})
    story.do("guihua", "s2_conclude", PASS)
    story.at(3, 16)
    story.stage_3_and_4()
    assert story.case()["status"] == "completed"
    # One 补正 round (one visit besides none at intake: the case was started through the API); the 承诺 clock
    # used 03-03, 03-04 and 03-11 .. 03-16 (6 working days), not the 4 it stood still.
    assert case_facts(app, story.case_id) == (1, 1, 6, False)

    case_no = story.case()["case_no"]
    history_file = load_case_history(engine.database, story.case_id)
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_no)
        assert result.identical, result.divergence
        # Dropping ``resumed`` (chain re-hashed) replays a 受理 that left the clock paused: the record disagrees.
        edited = rehashed(history_file, lambda payload: payload.pop("resumed", None))
        assert verify_history(edited).ok
        assert replayer.replay_history(edited).divergence is not None
    verified = app.test_cli_runner().invoke(args=["verify", case_no])
    assert verified.exit_code == 0 and verified.output.startswith(f"办件 {case_no}：完整（"), verified.output

    assert TimerWorker(engine).build_archives() == (1, 0)                # 办结即归档
    (info,) = list_archives(engine)
    path = engine.config.archives_dir / info.path
    check = verify_archive(path)
    assert check.ok, check.problem
    # The resumed segment is rebuilt from the ClocksStarted event: an edited actor in the package is named.
    original = path.read_bytes()
    doc = json.loads(entries(original)["metadata/case.json"])
    doc["clocks"]["committed"]["clock"]["segments"][2]["actor"] = "window_yz"
    tampered = engine.config.archives_dir / "tampered.zip"
    tampered.write_bytes(rezip(original, change={"metadata/case.json": json.dumps(doc).encode()},
                               fix_manifest=True, case_no=info.case_no))
    found = verify_archive(tampered)
    assert not found.ok and found.problem.message == (
        f"clocks.committed.clock.segments[2].actor 与第 {started.seq} 个事件（ClocksStarted）不符"), found.problem

    # The metrics backfill derives the same facts from the record (tongban migrate, for rows without them).
    facts = case_facts(app, story.case_id)
    with engine.database.writer.begin() as conn:
        conn.execute(update(Case).where(Case.id == story.case_id).values(
            facts_version=None, corrections=0, visits=0, committed_used_days=None, committed_late=None))
    assert engine.backfill_metric_facts() == 1 and case_facts(app, story.case_id) == facts


@pytest.mark.parametrize("pause, line", [
    (CORRECTION, "受理时恢复计时：承诺时限（补正）"),
    ({"reason_kind": "tolerance", "reason": "容缺受理：消防设计说明后补", "clocks": ["committed"]}, None),
], ids=["correction", "tolerance"])
def test_the_history_page_says_which_clock_the_acceptance_resumed_and_which_pause_it_ended(app, client, people, clock,
                                                                                           pause, line):
    story = Story(client, people, clock, "social")
    between_stages(story, pause)
    story.at(3, 11)
    story.do("guihua", "s2_accept", ACCEPT)
    (started,) = [e for e in events_of(app, story.case_id, "ClocksStarted") if e.element_id == "s2_accept"]
    get_engine(app).identity.create_user("auditor_sj", display_name="市审计", roles=("auditor",), district="500000",
                                         department="shenji", password=PASSWORD)
    rows = client_for(app, "auditor_sj").get(f"/cases/{story.case_id}/history/rows?after={started.seq - 1}",
                                             headers={"HX-Request": "true"}).get_data(as_text=True)
    row = re.search(rf'<tr id="event-{started.seq}".*?</tr>', rows, re.S).group(0)
    assert "开始计时" in row
    lines = re.findall(r'<div class="sub">(受理时恢复计时：[^<]*)</div>', rows)
    assert lines == ([line] if line else []) and all(text in row for text in lines)


def test_a_tolerance_pause_goes_on_across_the_next_stage_s_acceptance(app, client, people, clock):
    """容缺受理 accepts while a material is still owed: the 承诺 clock waits until the window resumes it."""
    story = Story(client, people, clock, "social")
    between_stages(story, {"reason_kind": "tolerance", "reason": "容缺受理：消防设计说明后补", "clocks": ["committed"]})
    story.at(3, 11)
    story.do("guihua", "s2_accept", ACCEPT)
    assert story.clocks()["committed"]["paused"] is True
    (started,) = [e for e in events_of(app, story.case_id, "ClocksStarted") if e.element_id == "s2_accept"]
    assert "resumed" not in started.payload
    with Replayer(get_engine(app)) as replayer:
        result = replayer.replay_case(story.case_id)
    assert result.identical, result.divergence


def test_a_special_procedure_pause_goes_on_across_the_next_stage_s_acceptance(app, client, people, clock):
    """第四十五条's procedure has its own end: 受理 of the next stage starts the 法定 clock and leaves it running."""
    story = Story(client, people, clock, "social")
    base = between_stages(story, SPECIAL)
    story.at(3, 11)
    story.do("guihua", "s2_accept", ACCEPT)
    clocks = story.clocks()
    assert (clocks["legal"]["paused"], clocks["committed"]["paused"], clocks["committed"]["light"]) == (
        False, True, "paused")
    assert story.case()["committed_due_at"] is None
    (started,) = [e for e in events_of(app, story.case_id, "ClocksStarted") if e.element_id == "s2_accept"]
    assert "resumed" not in started.payload
    assert get_engine(app).applicants.view(story.case_id)["stage"] == "special"   # still 特别程序

    story.at(3, 12)
    resumed = client.post(f"{base}/resume", json={}, headers=people["clerk"].headers)
    assert resumed.status_code == 200, resumed.get_json()
    (event,) = events_of(app, story.case_id, "ClockResumed")
    assert list(event.payload["clocks"]) == ["committed"]
    assert story.clocks()["committed"]["due_date"] == "2026-05-21"      # 03-05 .. 03-11: 5 working days
    assert get_engine(app).applicants.view(story.case_id)["stage"] == "accepted"
    with Replayer(get_engine(app)) as replayer:
        result = replayer.replay_case(story.case_id)
    assert result.identical, result.divergence


OLD_GOLDEN = HISTORIES / "gongcheng_correction_resumed_by_hand_after_next_acceptance.json"


def test_a_case_recorded_before_acceptance_ended_the_pause_still_replays_and_its_archive_verifies(app, client,
                                                                                                 people, clock):
    """What an engine from before wrote: the 受理 left the 承诺 clock paused, the window resumed it the next day."""
    story = Story(client, people, clock, "social")
    base = between_stages(story, CORRECTION)
    story.at(3, 11)
    engine = get_engine(app)
    task = story.task("guihua", "s2_accept")
    guihua = Actor("reviewer_gh", ("reviewer",), "500103", "guihua")
    engine.handle(CompleteTask(task["id"], guihua, ACCEPT, resume_pauses=False))
    (started,) = [e for e in events_of(app, story.case_id, "ClocksStarted") if e.element_id == "s2_accept"]
    assert "resumed" not in started.payload and story.clocks()["committed"]["paused"] is True
    story.at(3, 12)
    resumed = client.post(f"{base}/resume", json={}, headers=people["clerk"].headers)
    assert resumed.status_code == 200, resumed.get_json()
    story.review("s2_design", {"guihua": "approve", "zhujian": "approve"})
    story.review("s2_review", {"shengtai": "approve", "guihua": "approve"})
    story.do("guihua", "s2_conclude", PASS)
    story.at(3, 16)
    story.stage_3_and_4()
    with Replayer(engine) as replayer:
        result = replayer.replay_case(story.case_id)
    assert result.identical, result.divergence
    assert TimerWorker(engine).build_archives() == (1, 0)
    (info,) = list_archives(engine)
    check = verify_archive(engine.config.archives_dir / info.path)
    assert check.ok, check.problem


def test_the_golden_recorded_before_acceptance_ended_the_pause_replays_with_its_resume_by_hand(tmp_path):
    """Recorded by the engine before this rule (stage 2 accepted 03-11, resumed by the window 03-12)."""
    history = read_history(OLD_GOLDEN)
    kinds = [(e.event_type, e.element_id) for e in history.events]
    at_acceptance = kinds.index(("ClocksStarted", "s2_accept"))
    assert "resumed" not in history.events[at_acceptance].payload
    (resume,) = [e for e in history.events if e.event_type == "ClockResumed"]
    assert resume.seq > history.events[at_acceptance].seq and resume.payload["clocks"] == ["committed"]
    assert verify_history(history).ok
    engine = bootstrap(EngineConfig(database_url=f"sqlite:///{tmp_path / 'unused.sqlite'}",
                                    processes_dir=ROOT / "processes", forms_dir=ROOT / "forms",
                                    materials_dir=tmp_path / "materials", archives_dir=tmp_path / "archives"),
                       clock=ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=CST)))
    try:
        with Replayer(engine) as replayer:
            result = replayer.replay_history(history)
    finally:
        engine.close()
    assert result.identical, result.divergence
