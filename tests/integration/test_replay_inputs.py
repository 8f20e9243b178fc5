"""What replay reads besides the events: the definition store (checked first) and grants as of each command."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from engine import CompleteTask, DefinitionChanged, DefinitionMissing, Replayer, StartCase
from engine.persistence.models import ProcessDefinition
from tests.handoff_helpers import (
    ALL_RIGHTS, CODE_RECEIVING_CLOCK, IDENTITY, QIANJIANG, WINDOW_QJ, YUZHONG, do, receive, setup,
)
from tests.helpers import ACCEPT, CLERK, deploy_shipped, open_task


@pytest.fixture
def accepted(engine, clock):
    """A 施工许可 case started and accepted (受理), on version 1 of parallel_approval."""
    deploy_shipped(engine)
    ref = engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": "重庆某建设有限公司"}))
    clock.advance(minutes=5)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    return ref


def edit_store(database_url: str, sql: str, params: dict) -> None:
    """Change the definition store behind the engine's back, foreign keys off (as a careless operator could)."""
    eng = create_engine(database_url)
    with eng.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("PRAGMA foreign_keys = OFF"))
        conn.execute(text(sql), params)
    eng.dispose()


def pinned(engine, case_id: int) -> dict:
    started = engine.queries.events(case_id)[0]
    assert started.event_type == "CaseStarted"
    return started.payload


def test_a_pinned_version_deleted_from_the_store_is_refused_naming_key_version_and_hash(
        engine, accepted, database_url, runner):
    pin = pinned(engine, accepted.case_id)
    edit_store(database_url, "DELETE FROM process_definitions WHERE process_key = :k AND version = :v",
               {"k": "parallel_approval", "v": pin["definition_version"]})
    with Replayer(engine) as replayer, pytest.raises(DefinitionMissing) as refused:
        replayer.replay_case(accepted.case_id)
    assert refused.value.code == "DEFINITION_MISSING" and refused.value.http_status == 409
    assert (f"parallel_approval 第 {pin['definition_version']} 版（内容哈希 {pin['content_hash']}）已不在定义库中"
            in refused.value.message)
    result = runner.invoke(args=["replay", accepted.case_no])
    assert result.exit_code == 2
    assert result.output.startswith("错误 [DEFINITION_MISSING]：办件锁定的流程定义 parallel_approval 第 1 版")


def test_a_stored_bpmn_that_no_longer_hashes_to_its_content_hash_is_refused(engine, accepted, database_url, runner):
    pin = pinned(engine, accepted.case_id)
    edit_store(database_url, "UPDATE process_definitions SET bpmn_xml = bpmn_xml || :tail WHERE process_key = :k",
               {"tail": "<!-- edited -->", "k": "parallel_approval"})
    with Replayer(engine) as replayer, pytest.raises(DefinitionChanged) as refused:
        replayer.replay_case(accepted.case_no)
    assert refused.value.code == "DEFINITION_CHANGED"
    assert f"与记录的内容哈希 {pin['content_hash']} 不符" in refused.value.message
    assert refused.value.details["recomputed_hash"] != pin["content_hash"]
    result = runner.invoke(args=["replay", str(accepted.case_id)])
    assert result.exit_code == 2 and "错误 [DEFINITION_CHANGED]：定义库中的流程定义 parallel_approval 第 1 版已被改动" \
        in result.output


def test_a_pinned_form_edited_or_deleted_in_the_store_is_refused(engine, accepted, database_url):
    with engine.database.read_sessions() as session:
        refs = session.execute(select(ProcessDefinition.form_refs).where(
            ProcessDefinition.process_key == "parallel_approval")).scalar_one()
    form_key = sorted(refs)[0]
    as_json = "CAST(:s AS JSONB)" if database_url.startswith("postgresql") else ":s"
    edit_store(database_url, f"UPDATE form_versions SET source = {as_json} WHERE form_key = :k",
               {"s": f'{{"id": "{form_key}", "components": []}}', "k": form_key})
    with Replayer(engine) as replayer, pytest.raises(DefinitionChanged, match=f"锁定的表单 {form_key}第 1 版已被改动"):
        replayer.replay_case(accepted.case_id)
    edit_store(database_url, "DELETE FROM form_versions WHERE form_key = :k", {"k": form_key})
    with Replayer(engine) as replayer, pytest.raises(DefinitionMissing, match=f"锁定的表单 {form_key}（内容哈希"):
        replayer.replay_case(accepted.case_id)


def test_a_case_received_under_a_grant_revoked_later_still_replays_identical(engine, clock):
    setup(engine, rights=ALL_RIGHTS)
    case_id = receive(engine).case.case_id
    clock.advance(minutes=20)
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, case_id)      # exercises the grant once more
    (grant,) = engine.grants.list()
    clock.advance(days=1)
    engine.grants.revoke(grant.id, actor="admin", reason="试点结束")
    exercised = [e for e in engine.queries.events(case_id) if e.event_type == "GrantExercised"]
    assert [e.payload["right"] for e in exercised] == ["receive", "receive"]
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence
    assert result.events == len(engine.queries.events(case_id))


def test_a_decision_grant_added_after_receipt_does_not_move_the_replayed_decision(engine, clock):
    setup(engine, rights=("receive",), code=CODE_RECEIVING_CLOCK)   # 渝中 decides: handed over (代收代办)
    case_id = receive(engine, code=CODE_RECEIVING_CLOCK).case.case_id
    clock.advance(hours=2)
    engine.grants.add(matter_code=CODE_RECEIVING_CLOCK, owning=YUZHONG, receiving=QIANJIANG,
                      rights=["receive", "decide"], actor="admin")         # later: 就地批办 for new cases
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence
