"""A message thrown at a case that has ended (or does not exist) ends at once, on SQLite and PostgreSQL.

It used to be buffered and tried every 30 s for its whole time to live (7 days) although an ended case can
never receive it: only then did it expire and the sender learn of it. Now the first delivery attempt sets it
``undeliverable`` (无法投递) and records ``MessageUndeliverable`` with the Chinese reason on the sender's case,
whose replay and chain still check out. Messages that start a case, and receivers that merely do not wait
yet, are unaffected.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import Conflict, MessageWorker, Replayer, verify_case
from engine.case_history import load_case_history
from engine.history_file import dumps_history, loads_history
from engine.persistence.models import CaseEvent
from tests.message_helpers import (
    ADMIN, PING_PONG, cases, complete, deploy, event_types, messages, open_elements, start_ping,
)

# The ping case may end right after 等待前的准备 (topic "skip"), before the pong case answers it.
SKIPPABLE = PING_PONG.read_bytes().replace(
    b'<bpmn:sequenceFlow id="f3" sourceRef="hold" targetRef="wait_pong"/>',
    b'<bpmn:sequenceFlow id="f3" sourceRef="hold" targetRef="skip_gw"/>'
    b'<bpmn:exclusiveGateway id="skip_gw" default="f3_wait"/>'
    b'<bpmn:sequenceFlow id="f3_wait" sourceRef="skip_gw" targetRef="wait_pong"/>'
    b'<bpmn:sequenceFlow id="f3_skip" sourceRef="skip_gw" targetRef="end">'
    b"<bpmn:conditionExpression>topic == 'skip'</bpmn:conditionExpression></bpmn:sequenceFlow>")
# The pong case answers a case number no case has.
NOWHERE = PING_PONG.read_bytes().replace(b"correlation=\"handoff['sender_case_no']\"",
                                         b"correlation=\"'TB19990101000001'\"")


def pong_answers_an_ended_ping(engine) -> tuple[int, int]:
    """The ping case ends before its pong answers; return (ping id, pong id) once the answer is thrown."""
    deploy(engine, SKIPPABLE)
    ping = start_ping(engine, topic="skip")
    assert MessageWorker(engine).sweep().delivered == 1
    [pong] = cases(engine, "pong")
    complete(engine, ping, "hold", {})
    assert cases(engine, "ping")[0].status == "completed"
    complete(engine, pong.id, "answer_task", {"answer": "7"})
    assert messages(engine)[1].state == "pending"
    return ping, pong.id


def undeliverable_event(engine, case_id: int) -> CaseEvent:
    with engine.database.read_sessions() as session:
        return session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                               .order_by(CaseEvent.seq.desc()).limit(1)).one()


def test_a_message_to_an_ended_case_ends_at_the_first_attempt_and_tells_the_sender(engine, clock):
    ping, pong = pong_answers_an_ended_ping(engine)
    ping_no = cases(engine, "ping")[0].case_no
    started = clock.now()
    result = MessageWorker(engine).sweep()
    assert (result.delivered, result.buffered, result.other) == (0, 0, {"undeliverable": 1})
    assert clock.now() == started                                   # at once, not after the 7-day time to live
    reply = messages(engine)[1]
    assert reply.state == "undeliverable" and reply.receiver_case_id is None
    assert reply.last_error == f"接收方办件 {ping_no} 已结束，消息无法投递"
    event = undeliverable_event(engine, pong)
    assert event.event_type == "MessageUndeliverable" and event.element_id == "send_pong"
    assert {k: event.payload[k] for k in ("name", "idempotency_key", "correlation_key", "reason")} == {
        "name": "pong", "idempotency_key": reply.idempotency_key, "correlation_key": ping_no,
        "reason": f"接收方办件 {ping_no} 已结束"}
    assert event_types(engine, ping)[-1] == "CaseCompleted"           # the ended case is untouched
    clock.advance(timedelta(days=8))
    assert MessageWorker(engine).sweep().other == {}                  # never picked up again, never "expired"
    assert messages(engine)[1].state == "undeliverable"


def test_the_sender_still_replays_and_verifies(engine, clock):
    _ping, pong = pong_answers_an_ended_ping(engine)
    MessageWorker(engine).sweep()
    assert event_types(engine, pong)[-2:] == ["CaseCompleted", "MessageUndeliverable"]
    assert verify_case(engine, pong).ok
    with Replayer(engine) as replayer:
        result = replayer.replay_case(pong)
    assert result.identical, result.divergence


def test_an_alert_about_a_message_the_case_never_sent_does_not_replay(engine, clock):
    """Replay appends the recorded outcome only for a message the replayed case threw itself."""
    _ping, pong = pong_answers_an_ended_ping(engine)
    MessageWorker(engine).sweep()
    doc = json.loads(dumps_history(load_case_history(engine.database, pong)))
    [alert] = [e for e in doc["events"] if e["event_type"] == "MessageUndeliverable"]
    alert["payload"]["idempotency_key"] = alert["payload"]["idempotency_key"].replace("/1", "/2")
    with Replayer(engine) as replayer:
        result = replayer.replay_history(loads_history(json.dumps(doc)))
    assert result.divergence.reason == "refused" and "没有发送过消息" in result.divergence.message


def test_a_message_to_a_case_number_nobody_has_ends_at_once_too(engine, clock):
    deploy(engine, NOWHERE)
    ping = start_ping(engine)
    MessageWorker(engine).sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "7"})
    assert MessageWorker(engine).sweep().other == {"undeliverable": 1}
    assert messages(engine)[1].state == "undeliverable"
    assert undeliverable_event(engine, pong.id).payload["reason"] == "接收方办件 TB19990101000001 不存在"
    assert open_elements(engine, ping) == ["hold"]                    # the ping case is not touched either


def test_a_receiver_that_runs_but_does_not_wait_yet_is_still_buffered(engine, clock):
    deploy(engine, SKIPPABLE)
    ping = start_ping(engine)                                         # topic "t": it will wait for the pong
    MessageWorker(engine).sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "7"})
    assert MessageWorker(engine).sweep().buffered == 1
    assert messages(engine)[1].state == "pending"
    complete(engine, ping, "hold", {})
    clock.advance(timedelta(seconds=31))
    assert MessageWorker(engine).sweep().delivered == 1 and open_elements(engine, ping) == ["read"]


def test_admins_see_it_among_those_to_handle_and_may_discard_but_not_retry_it(engine, clock):
    pong_answers_an_ended_ping(engine)
    MessageWorker(engine).sweep()
    reply = messages(engine)[1]
    [listed] = engine.messages.list(states=("undeliverable",))
    assert listed["id"] == reply.id and listed["state_label"] == "无法投递（接收方办件已结束或不存在）"
    assert engine.messages.counts().get("undeliverable") == 1
    with pytest.raises(Conflict) as refused:
        engine.messages.retry(reply.id, ADMIN, "再试一次")
    assert "无法投递" in refused.value.message
    engine.messages.discard(reply.id, ADMIN, "接收方已办结，无需再投递")
    assert messages(engine)[1].state == "discarded"


def test_a_sender_whose_message_expired_and_was_retried_replays_too(engine, clock):
    """``MessageExpired`` and ``MessageResolved`` on the sender had no replay command: its replay stopped
    there as unsupported. Replay now appends them as recorded, after checking the case sent that message."""
    deploy(engine)
    ping = start_ping(engine)
    worker = MessageWorker(engine)
    worker.sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "7"})
    worker.sweep()
    clock.advance(timedelta(days=8))
    assert worker.sweep().other == {"expired": 1}
    engine.messages.retry(messages(engine)[1].id, ADMIN, "申请人已补办，重新投递")
    complete(engine, ping, "hold", {})
    assert worker.sweep().delivered == 1
    assert event_types(engine, pong.id)[-2:] == ["MessageExpired", "MessageResolved"]
    with Replayer(engine) as replayer:
        for case_id in (pong.id, ping):
            result = replayer.replay_case(case_id)
            assert result.identical, (case_id, result.divergence)
