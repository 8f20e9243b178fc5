"""异地代收代办 rules on SQLite and PostgreSQL: grants per task, manifest hashes, clocks, timer, versions."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import CST, CompleteTask, DeployDefinitions, GrantMissing, MessageWorker, Replayer, TimerWorker
from engine.persistence.models import Case, CaseEvent, Message, ProcessDefinition
from tests.conftest import ROOT
from tests.handoff_helpers import (
    ARRIVED, CODE, CODE_RECEIVING_CLOCK, COMPLETE, CORRECTED, IDENTITY, INCOMPLETE, NOTICE, ORIGINALS, QIANJIANG,
    SUPERVISOR_YZ, WINDOW_QJ, WINDOW_YZ, YUZHONG, do, receive, setup, task_of, verify_at_qianjiang,
)


def owning_case(engine, receiving_id):
    with engine.database.read_sessions() as session:
        return session.scalars(select(Case).where(Case.id != receiving_id).order_by(Case.id.desc())).first()


def events(engine, case_id, kind=None):
    with engine.database.read_sessions() as session:
        stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
        return [e for e in session.scalars(stmt) if kind is None or e.event_type == kind]


def test_a_task_outside_the_grant_is_refused_and_the_refusal_is_audited(engine):
    setup(engine, rights=("receive", "formal_review", "deliver"))
    case_id = receive(engine).case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, case_id)
    with pytest.raises(GrantMissing, match="原件核验"):
        do(engine, WINDOW_QJ, "verify_original", ORIGINALS, case_id)
    [refused] = events(engine, case_id, "GrantRefused")
    assert (refused.element_id, refused.payload["right"], refused.actor) == ("verify_original", "verify_original",
                                                                             "window_qj")
    assert task_of(engine, WINDOW_QJ, "verify_original", case_id)["state"] == "open"
    exercised = [e.payload["right"] for e in events(engine, case_id, "GrantExercised")]
    assert exercised == ["receive", "receive"]       # intake (异地收件) and 身份核验


def test_a_case_with_a_refused_task_replays_identically_with_the_grants_as_they_were(engine, clock):
    """QA: a refused 原件核验 (GrantRefused) made the whole case unreplayable. Replay re-issues it under the grants
    in force then: refused again, then allowed once the right was granted."""
    setup(engine, rights=("receive", "formal_review", "deliver"))
    case_id = receive(engine).case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, case_id)
    with pytest.raises(GrantMissing):
        do(engine, WINDOW_QJ, "verify_original", ORIGINALS, case_id)
    clock.advance(timedelta(hours=1))
    engine.grants.add(matter_code=CODE, owning=YUZHONG, receiving=QIANJIANG, rights=["verify_original"],
                      actor="admin")
    clock.advance(timedelta(hours=1))
    engine.handle(CompleteTask(task_of(engine, WINDOW_QJ, "verify_original", case_id)["id"], WINDOW_QJ, ORIGINALS))
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence
    assert [e.event_type for e in events(engine, case_id)].count("GrantRefused") == 1


def test_one_time_notice_happens_at_the_window_only_where_granted(engine):
    setup(engine)
    case_id = receive(engine).case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, case_id)
    do(engine, WINDOW_QJ, "verify_original", ORIGINALS, case_id)
    do(engine, WINDOW_QJ, "formal_review", INCOMPLETE, case_id)
    do(engine, WINDOW_QJ, "notify", NOTICE, case_id)
    do(engine, WINDOW_QJ, "receive_correction", CORRECTED, case_id)
    do(engine, WINDOW_QJ, "formal_review", COMPLETE, case_id)
    assert task_of(engine, WINDOW_QJ, "handoff", case_id)


def test_without_the_notify_right_an_incomplete_application_goes_to_the_owning_district(engine):
    setup(engine, rights=("receive", "formal_review", "verify_original", "deliver"))
    case_id = receive(engine).case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, case_id)
    do(engine, WINDOW_QJ, "verify_original", ORIGINALS, case_id)
    do(engine, WINDOW_QJ, "formal_review", INCOMPLETE, case_id)
    assert task_of(engine, WINDOW_QJ, "handoff", case_id)


WITHOUT_NOTIFY = ("receive", "formal_review", "verify_original", "deliver")


def test_the_notice_route_follows_the_notify_right_in_force_at_formal_review_not_at_intake(engine, clock):
    """QA: the route to 一次性告知 read the rights of the intake. A 告知权 granted later was ignored, and one revoked
    later still led to the notice task, which the grant check then refused: the case was stuck."""
    setup(engine, rights=WITHOUT_NOTIFY)
    granted_later = receive(engine).case.case_id                          # received without 告知权
    clock.advance(timedelta(minutes=10))
    notify = engine.grants.add(matter_code=CODE, owning=YUZHONG, receiving=QIANJIANG, rights=["notify"],
                               actor="admin")
    clock.advance(timedelta(minutes=10))
    revoked_later = receive(engine).case.case_id                          # received with it

    def review_incomplete(case_id: int) -> set[str]:
        clock.advance(timedelta(hours=1))
        do(engine, WINDOW_QJ, "verify_identity", IDENTITY, case_id)
        do(engine, WINDOW_QJ, "verify_original", ORIGINALS, case_id)
        do(engine, WINDOW_QJ, "formal_review", INCOMPLETE, case_id)
        return {t["element_id"] for t in engine.queries.case(WINDOW_QJ, case_id)["tasks"] if t["state"] == "open"}

    assert review_incomplete(granted_later) == {"notify"}
    do(engine, WINDOW_QJ, "notify", NOTICE, granted_later)                 # and the grant check lets it through
    clock.advance(timedelta(minutes=10))
    engine.grants.revoke(notify.id, actor="admin", reason="告知权收回")
    engine.grants.add(matter_code=CODE, owning=YUZHONG, receiving=QIANJIANG, rights=["notify"],
                      valid_from=date(2026, 12, 1), actor="admin")        # not in force yet: changes nothing
    assert review_incomplete(revoked_later) == {"handoff"}                 # to the owning district, not stuck
    with Replayer(engine) as replayer:
        for case_id in (granted_later, revoked_later):
            result = replayer.replay_case(case_id)
            assert result.identical, result.divergence


def test_the_handoff_carries_the_manifest_with_hashes_and_who_verified_each_original(engine):
    setup(engine)
    case_id = receive(engine).case.case_id
    verify_at_qianjiang(engine, case_id)
    with engine.database.read_sessions() as session:
        [message] = session.scalars(select(Message)).all()
    manifest = {m["key"]: m for m in message.payload["manifest"]}
    assert len(manifest["water_quality_report"]["sha256"]) == 64
    assert manifest["water_quality_report"]["original_verified_by"] == "window_qj"
    assert manifest["water_quality_report"]["original_verified_at"].startswith("2026-11-23T")
    assert manifest["business_license"]["license_ref"] == "LIC-500103-2026-0001"
    assert [v["right"] for v in message.payload["verification"]] == ["receive", "verify_original", "formal_review"]
    assert message.payload["handoff"]["transfer_limit"] == {"amount": 2, "unit": "workday"}
    assert message.payload["tracking_no"] == "SF1234567890"


def test_a_manifest_hash_that_does_not_match_the_store_refuses_the_handoff(engine, tmp_path):
    setup(engine)
    case_id = receive(engine).case.case_id
    verify_at_qianjiang(engine, case_id)
    with engine.database.read_sessions() as session:
        [message] = session.scalars(select(Message)).all()
    sha = next(m["sha256"] for m in message.payload["manifest"] if m["key"] == "drainage_plan")
    engine.services.materials.path_of(sha).write_bytes(b"%PDF-1.7\nswapped after verification\n")
    result = MessageWorker(engine).sweep()
    assert result.failed == 1
    with engine.database.read_sessions() as session:
        message = session.get(Message, message.id)
        assert session.scalars(select(Case).where(Case.id != case_id)).first() is None
    assert message.state == "poison" and "移交材料清单校验失败" in message.last_error
    assert "文件内容与清单中的 sha256 不符" in message.last_error


def test_the_legal_clock_starts_on_arrival_and_the_transfer_leg_has_its_own_timer(engine, clock):
    setup(engine)
    case_id = receive(engine).case.case_id
    verify_at_qianjiang(engine, case_id)
    MessageWorker(engine).sweep()
    owning = owning_case(engine, case_id)
    assert owning.legal_due_at is None                 # waits for 到件受理
    clock.advance(timedelta(days=4))                   # Fri 11-27: two working days after Mon 11-23 have passed
    TimerWorker(engine).sweep()
    assert task_of(engine, SUPERVISOR_YZ, "chase_transfer", owning.id)["name"] == "移交超时督办"
    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, owning.id)
    owning = owning_case(engine, case_id)
    assert owning.legal_due_at is not None and owning.legal_due_at.astimezone(CST).date() > date(2026, 12, 20)


def test_the_legal_clock_can_start_at_the_receiving_windows_acceptance(engine, clock):
    setup(engine, code=CODE_RECEIVING_CLOCK)
    case_id = receive(engine, code=CODE_RECEIVING_CLOCK).case.case_id
    verify_at_qianjiang(engine, case_id)
    clock.advance(timedelta(days=2))                   # the message is delivered two days later
    MessageWorker(engine).sweep()
    owning = owning_case(engine, case_id)
    [started] = [e for e in events(engine, owning.id) if e.event_type == "ClocksStarted"]
    assert started.payload["clocks"]["legal"]["t0"] == "2026-11-23"
    assert owning.legal_due_at == datetime(2026, 12, 22, tzinfo=CST)


def test_cases_stay_on_their_version_when_the_collaboration_changes_mid_handoff(engine):
    setup(engine)
    case_id = receive(engine).case.case_id
    verify_at_qianjiang(engine, case_id)
    MessageWorker(engine).sweep()
    first = owning_case(engine, case_id)
    changed = (ROOT / "processes" / "yidi_daiban" / "main.bpmn").read_bytes().replace(
        "到件受理".encode(), "到件登记并受理".encode())
    engine.handle(DeployDefinitions((("yidi_daiban/main.bpmn", changed),)))
    with engine.database.read_sessions() as session:
        versions = {d.id: d.version for d in session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_key == "yidi_banli"))}
    assert versions[first.definition_id] == 1 and max(versions.values()) == 2
    assert task_of(engine, WINDOW_YZ, "confirm_arrival", first.id)["name"] == "到件受理"
    do(engine, WINDOW_YZ, "confirm_arrival", {**ARRIVED, "arrival_result": "reject",
                                               "not_accepted_basis": "非本部门职责"}, first.id)
    assert MessageWorker(engine).sweep().delivered == 1
    assert owning_case(engine, case_id).definition_id == first.definition_id
    assert task_of(engine, WINDOW_QJ, "deliver", case_id)
    second = receive(engine).case.case_id
    verify_at_qianjiang(engine, second)
    MessageWorker(engine).sweep()
    newest = owning_case(engine, second)
    assert versions.get(newest.definition_id) is None or versions[newest.definition_id] == 2
    assert task_of(engine, WINDOW_YZ, "confirm_arrival", newest.id)["name"] == "到件登记并受理"


def test_each_side_sees_the_partner_case_but_acts_only_on_its_own_tasks(engine):
    setup(engine)
    case_id = receive(engine).case.case_id
    verify_at_qianjiang(engine, case_id)
    MessageWorker(engine).sweep()
    owning = owning_case(engine, case_id)
    view = engine.queries.case(WINDOW_QJ, owning.id)
    with engine.database.read_sessions() as session:
        receiving_no = session.get(Case, case_id).case_no
    assert (view["partners"][0]["case_no"], view["partners"][0]["role"]) == (receiving_no, "receiving")
    assert [p["case_id"] for p in view["partners"]] == [case_id]
    assert [p["case_id"] for p in engine.queries.case(WINDOW_YZ, case_id)["partners"]] == [owning.id]
    assert all(t["element_id"] != "confirm_arrival" for t in engine.queries.tasks(WINDOW_QJ, limit=200).items)

