"""异地代收代办: the receiving window gives the one-time 补正 notice once, on SQLite and PostgreSQL.

《行政许可法》第三十二条第一款第四项 asks for one notice of everything missing. The receiving case has no clocks
(its T0 is fixed in the owning case), so the engine's ``NOTICE_ALREADY_GIVEN`` cannot guard it: the diagram
does. After the applicant's 补正, an application still incomplete goes to the owning district, which decides
whether to accept it (第五项: 不予受理 when the applicant did not supply everything the notice asked for).
"""
from __future__ import annotations

from sqlalchemy import select

import pytest

from engine import Actor, ClaimTask, CompleteTask, Conflict, DeployDefinitions, MessageWorker, Replayer, ReturnTask
from engine.persistence.models import Case, Message, ProcessDefinition
from tests.conftest import ROOT
from tests.handoff_helpers import (
    CODE, CORRECTED, HANDOFF, IDENTITY, INCOMPLETE, NOTICE, ORIGINALS, QIANJIANG, WINDOW_QJ, WINDOW_YZ, YUZHONG,
    do, receive, setup, task_of,
)

ADMIN = Actor("admin_sj", ("admin",), "500000", "dsj")
SHIPPED = (ROOT / "processes" / "yidi_daiban" / "main.bpmn").read_bytes()
GUARD = b" and value_of('correction_notice_no') is None"
STILL_INCOMPLETE = {"formal_result": "incomplete", "formal_note": "已一次性告知；补正后仍缺预处理设施运行情况说明"}
NOT_ACCEPTED = {"arrival_result": "reject", "arrival_note": "收件地已一次性告知，申请人未补正全部材料",
                "not_accepted_basis": "申请人未按一次性告知补正全部材料（《行政许可法》第三十二条第一款第五项）"}


def open_tasks(engine, case_id: int) -> set[str]:
    return {t["element_id"] for t in engine.queries.case(WINDOW_QJ, case_id)["tasks"] if t["state"] == "open"}


def notice_then_correction(engine, case_id: int, *, corrected: bool = True) -> None:
    """身份核验, 原件核验, 形式审查 (incomplete), the one-time notice, then (if ``corrected``) the 补正 received."""
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, case_id)
    do(engine, WINDOW_QJ, "verify_original", ORIGINALS, case_id)
    do(engine, WINDOW_QJ, "formal_review", INCOMPLETE, case_id)
    assert open_tasks(engine, case_id) == {"notify"}
    do(engine, WINDOW_QJ, "notify", NOTICE, case_id)
    if corrected:
        do(engine, WINDOW_QJ, "receive_correction", CORRECTED, case_id)


def owning_case(engine, receiving_id: int) -> Case:
    with engine.database.read_sessions() as session:
        return session.scalars(select(Case).where(Case.id != receiving_id)).one()


def test_after_the_one_time_notice_a_still_incomplete_application_goes_to_the_owning_district(engine):
    setup(engine)                                          # 黔江 holds 一次性告知权 for the matter
    mine = receive(engine).case.case_id
    notice_then_correction(engine, mine)
    do(engine, WINDOW_QJ, "formal_review", STILL_INCOMPLETE, mine)
    assert open_tasks(engine, mine) == {"handoff"}         # not a second 一次性告知补正
    do(engine, WINDOW_QJ, "handoff", HANDOFF, mine)
    worker = MessageWorker(engine)
    assert worker.sweep().delivered == 1
    theirs = owning_case(engine, mine)
    assert (theirs.owning_district, theirs.receiving_district) == (YUZHONG, QIANJIANG)
    # The owning district sees the notice that was given and the second review's conclusion, and decides.
    with engine.database.read_sessions() as session:
        handed = session.scalars(select(Message.payload).where(Message.receiver_case_id == theirs.id)).one()
    notices = [v["data"] for v in handed["verification"] if v["element_id"] == "notify"]
    assert [n["correction_notice_no"] for n in notices] == [NOTICE["correction_notice_no"]]
    assert (handed["formal_result"], handed["formal_note"]) == ("incomplete", STILL_INCOMPLETE["formal_note"])
    do(engine, WINDOW_YZ, "confirm_arrival", NOT_ACCEPTED, theirs.id)
    assert worker.sweep().delivered == 1
    assert open_tasks(engine, mine) == {"deliver"}
    with Replayer(engine) as replayer:
        for case_id in (mine, theirs.id):
            result = replayer.replay_case(case_id)
            assert result.identical, result.divergence


def test_cases_on_the_old_version_migrate_and_are_then_not_notified_twice(engine):
    """Running cases stay on their version; an admin may move those told once onto the guarded one."""
    old = SHIPPED.replace(GUARD, b"")
    assert old != SHIPPED, "the 需补正 flow of the shipped diagram no longer carries the one-notice guard"
    bpmn, forms = engine.shipped_files()
    engine.handle(DeployDefinitions(tuple((name, old if name == "yidi_daiban/main.bpmn" else data)
                                          for name, data in bpmn), tuple(forms)))
    engine.grants.add(matter_code=CODE, owning=YUZHONG, receiving=QIANJIANG,
                      rights=["receive", "formal_review", "verify_original", "notify", "deliver"], actor="admin")
    waiting_for_correction, corrected = receive(engine).case.case_id, receive(engine).case.case_id
    notice_then_correction(engine, corrected)                        # its second 形式审查 is open
    notice_then_correction(engine, waiting_for_correction, corrected=False)
    engine.handle(DeployDefinitions((("yidi_daiban/main.bpmn", SHIPPED),)))
    with engine.database.read_sessions() as session:
        versions = sorted(session.scalars(select(ProcessDefinition.version).where(
            ProcessDefinition.process_key == "yidi_shoujian")))
    assert versions == [1, 2]
    report = engine.versions.migrate("yidi_shoujian", 1, 2, actor=ADMIN)
    assert sorted(p.case_id for p in report.migrated) == sorted((waiting_for_correction, corrected))
    assert report.refused == []
    do(engine, WINDOW_QJ, "receive_correction", CORRECTED, waiting_for_correction)
    for case_id in (waiting_for_correction, corrected):
        do(engine, WINDOW_QJ, "formal_review", STILL_INCOMPLETE, case_id)
        assert open_tasks(engine, case_id) == {"handoff"}
    with Replayer(engine) as replayer:
        for case_id in (waiting_for_correction, corrected):
            result = replayer.replay_case(case_id)
            assert result.identical, result.divergence


def claimed(engine, element_id: str, case_id: int) -> int:
    task = task_of(engine, WINDOW_QJ, element_id, case_id)
    if task["assignee"] != WINDOW_QJ.username:
        engine.handle(ClaimTask(task["id"], WINDOW_QJ))
    return task["id"]


def written(engine, case_id: int) -> tuple:
    case = engine.queries.case(WINDOW_QJ, case_id)
    return case["version"], case["event_count"], sorted((t["element_id"], t["state"]) for t in case["tasks"])


def test_a_return_into_the_notice_already_given_is_refused_and_writes_nothing(engine):
    """tb:oneTimeNotice: 退回 from 接收补正材料 would reopen 一次性告知补正 for a second notice."""
    setup(engine)
    mine = receive(engine).case.case_id
    notice_then_correction(engine, mine, corrected=False)
    task_id = claimed(engine, "receive_correction", mine)
    before = written(engine, mine)
    with pytest.raises(Conflict) as refused:
        engine.handle(ReturnTask(task_id, WINDOW_QJ, "告知书漏列一项，重新告知"))
    assert (refused.value.code, refused.value.http_status) == ("NOTICE_ALREADY_GIVEN", 409)
    assert refused.value.message.startswith("已于 ") and "一次性告知补正内容，不得再次告知" in refused.value.message
    assert written(engine, mine) == before
    engine.handle(CompleteTask(task_id, WINDOW_QJ, CORRECTED))          # the case goes on as told
    do(engine, WINDOW_QJ, "formal_review", STILL_INCOMPLETE, mine)
    assert open_tasks(engine, mine) == {"handoff"}
    with Replayer(engine) as replayer:
        result = replayer.replay_case(mine)
    assert result.identical, result.divergence


def test_a_second_notice_recorded_before_the_declaration_still_replays(engine):
    """A 退回 into the notice and the notice given again, as recorded before the rule (on_record), replay."""
    setup(engine)
    mine = receive(engine).case.case_id
    notice_then_correction(engine, mine, corrected=False)
    engine.handle(ReturnTask(claimed(engine, "receive_correction", mine), WINDOW_QJ, "重新告知", on_record=True))
    again = claimed(engine, "notify", mine)
    with pytest.raises(Conflict) as refused:                        # without the record: refused
        engine.handle(CompleteTask(again, WINDOW_QJ, NOTICE))
    assert refused.value.code == "NOTICE_ALREADY_GIVEN"
    engine.handle(CompleteTask(again, WINDOW_QJ, {**NOTICE, "correction_notice_no": "BZ-QJ-002"}, on_record=True))
    do(engine, WINDOW_QJ, "receive_correction", CORRECTED, mine)
    with Replayer(engine) as replayer:
        result = replayer.replay_case(mine)
    assert result.identical, result.divergence
