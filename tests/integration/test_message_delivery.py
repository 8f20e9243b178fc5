"""Durable messages on SQLite and PostgreSQL: outbox, correlation, buffering, expiry, poison, forgeries."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine import Conflict, InvalidInput, MessageRejected, MessageWorker, deliver_message
from engine.messages import sign
from engine import StartCase
from engine.persistence.models import Case, Message, MessageRejection
from engine.persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.message_helpers import (
    ADMIN, CLERK, cases, complete, deploy, event_types, messages, open_elements, start_ping,
)


@pytest.fixture
def pinged(engine):
    deploy(engine)
    return start_ping(engine)


def test_throwing_writes_one_signed_outbox_row_in_the_same_transaction(engine, pinged):
    [row] = messages(engine)
    [ping] = cases(engine, "ping")
    assert (row.name, row.state, row.sender_case_id, row.sender_element) == ("ping", "pending", pinged, "send_ping")
    assert row.idempotency_key == f"{ping.case_no}/send_ping/1" and row.correlation_key is None
    assert row.payload["topic"] == "t" and row.payload["handoff"]["sender_case_no"] == ping.case_no
    assert len(row.signature) == 64 and "MessageSent" in event_types(engine, pinged)


def test_a_rolled_back_step_writes_no_message_and_its_retry_writes_exactly_one(engine, monkeypatch):
    deploy(engine)
    from engine import StartCase
    from tests.message_helpers import CLERK
    ref = engine.handle(StartCase("ping", CLERK, {"topic": "t"}))
    real_commit, calls = SqlAlchemyUnitOfWork.commit, []

    def failing_commit(self):
        calls.append(1)
        if len(calls) == 1:
            self._transaction.rollback()
            raise Conflict("simulated lost commit")
        real_commit(self)
    monkeypatch.setattr(SqlAlchemyUnitOfWork, "commit", failing_commit)
    with pytest.raises(Conflict):
        complete(engine, ref.case_id, "prepare", {})
    assert messages(engine) == []
    complete(engine, ref.case_id, "prepare", {})   # the claim survived; only the completion is retried
    assert [m.idempotency_key.rsplit("/", 1)[1] for m in messages(engine)] == ["1"]


def test_a_message_start_opens_a_linked_case_and_a_reply_is_correlated_by_case_number(engine, pinged):
    worker = MessageWorker(engine)
    assert worker.sweep().delivered == 1
    [pong] = cases(engine, "pong")
    assert "MessageReceived" in event_types(engine, pong.id) and "CaseLinked" in event_types(engine, pinged)
    complete(engine, pong.id, "answer_task", {"answer": "7"})
    complete(engine, pinged, "hold", {})
    assert worker.sweep().delivered == 1
    assert open_elements(engine, pinged) == ["read"]
    assert [m.state for m in messages(engine)] == ["delivered", "delivered"]


def test_a_message_for_a_case_not_waiting_yet_is_buffered_then_delivered(engine, clock, pinged):
    worker = MessageWorker(engine)
    worker.sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "7"})
    result = worker.sweep()
    assert (result.delivered, result.buffered) == (0, 1)
    reply = messages(engine)[1]
    assert reply.state == "pending" and "尚未就绪" in reply.last_error and reply.attempts == 0
    complete(engine, pinged, "hold", {})
    assert worker.sweep().delivered == 0            # not due again yet
    clock.advance(timedelta(seconds=31))
    assert worker.sweep().delivered == 1
    assert open_elements(engine, pinged) == ["read"]


def test_a_buffered_message_expires_after_its_time_to_live_and_alerts_the_sender(engine, clock, pinged):
    worker = MessageWorker(engine)
    worker.sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "7"})
    worker.sweep()
    clock.advance(timedelta(days=8))
    result = worker.sweep()
    assert result.other == {"expired": 1}
    reply = messages(engine)[1]
    assert reply.state == "expired" and "过期" in reply.last_error
    assert event_types(engine, pong.id)[-1] == "MessageExpired"
    assert [m["id"] for m in engine.messages.list(states=("expired",))] == [reply.id]
    engine.messages.retry(reply.id, ADMIN, "申请人已补办，重新投递")
    complete(engine, pinged, "hold", {})
    assert worker.sweep().delivered == 1 and event_types(engine, pong.id)[-1] == "MessageResolved"


def test_repeated_failures_back_off_then_the_message_is_poison_until_an_admin_acts(engine, clock, pinged):
    worker = MessageWorker(engine)
    worker.sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "not a number"})
    complete(engine, pinged, "hold", {})
    waits = []
    for _ in range(engine.services.messages.max_attempts):
        assert worker.sweep().failed == 1
        reply = messages(engine)[1]
        waits.append(round((reply.available_at - clock.now()).total_seconds()))
        clock.advance(reply.available_at - clock.now() + timedelta(seconds=1))
    assert waits[:4] == [5, 10, 20, 40] and reply.state == "poison" and reply.attempts == 8
    assert "int" in reply.last_error or "失败" in reply.last_error
    assert worker.sweep().failed == 0               # poison is never picked up again
    assert open_elements(engine, pinged) == []      # the receiver is untouched: still waiting
    [listed] = engine.messages.list(states=("poison",))
    assert listed["state_label"] == "投递失败（待处理）" and listed["sender_case_no"] == pong.case_no
    with pytest.raises(Conflict):
        engine.messages.retry(messages(engine)[0].id, ADMIN, "已投递的消息不能重试")
    engine.messages.discard(reply.id, ADMIN, "答复内容有误，请回复方重新办理")
    assert messages(engine)[1].state == "discarded" and messages(engine)[1].resolved_by == "admin"


def test_a_delivered_message_is_never_delivered_again(engine, pinged):
    [row] = messages(engine)
    first = deliver_message(row.id, engine.services)
    second = deliver_message(row.id, engine.services)
    assert (first.state, second.state) == ("delivered", "skipped")
    assert len(cases(engine, "pong")) == 1


def test_an_envelope_no_case_could_receive_is_refused_and_nothing_is_queued(engine, pinged):
    [ping] = cases(engine, "ping")
    closed = engine.handle(StartCase("ping", CLERK, {"topic": "t"}))
    with engine.database.writer.begin() as conn:  # as if it had ended
        conn.execute(update(Case.__table__).where(Case.id == closed.case_id).values(status="completed"))
    before = [m.id for m in messages(engine)]

    def envelope(name, correlation_key, n):
        env = {"idempotency_key": f"外部/{n}", "name": name, "correlation_key": correlation_key,
               "payload": {"answer": "x"}, "sender": None}
        return {**env, "signature": sign(engine.services.messages.secret, env)}

    refused = {
        "没有流程以消息“nobody”启动": envelope("nobody", None, 1),
        "接收方办件 NO-SUCH 不存在": envelope("pong", "NO-SUCH", 2),
        f"接收方办件 {ping.case_no} 的流程中没有接收消息“ping”的环节": envelope("ping", ping.case_no, 3),
        f"接收方办件 {closed.case_no} 已结束": envelope("pong", closed.case_no, 4),
    }
    for said, env in refused.items():
        with pytest.raises(InvalidInput, match=said) as caught:
            engine.messages.submit(env, source="test")
        assert caught.value.code == "MESSAGE_NO_RECEIVER"
    assert [m.id for m in messages(engine)] == before and engine.messages.rejections() == []
    # The ping case catches pong even though it does not wait for it yet (it is at "hold"): buffered, not refused.
    accepted = engine.messages.submit(envelope("pong", ping.case_no, 5), source="test")
    assert [m.id for m in messages(engine)] == [*before, accepted]


def test_a_tampered_row_is_rejected_at_delivery_and_recorded(engine, pinged):
    with engine.database.writer.begin() as conn:
        conn.execute(update(Message.__table__).values(payload={"topic": "篡改"}))
    assert MessageWorker(engine).sweep().other == {"rejected": 1}
    assert messages(engine)[0].state == "rejected" and cases(engine, "pong") == []
    with engine.database.read_sessions() as session:
        [rejection] = session.scalars(select(MessageRejection)).all()
    assert (rejection.reason, rejection.source) == ("forged", "delivery")


def test_a_forged_or_replayed_envelope_is_refused_at_the_door_and_recorded(engine, pinged):
    [row] = messages(engine)
    [ping] = cases(engine, "ping")
    envelope = {"idempotency_key": row.idempotency_key, "name": row.name, "correlation_key": None,
                "payload": row.payload, "sender": ping.case_no, "signature": row.signature}
    with pytest.raises(MessageRejected, match="重放"):
        engine.messages.submit(envelope, source="test")
    forged = {**envelope, "idempotency_key": "X/1/1", "payload": {**row.payload, "topic": "假的"}}
    with pytest.raises(MessageRejected, match="签名"):
        engine.messages.submit(forged, source="test")
    fresh = {**envelope, "idempotency_key": f"{ping.case_no}/send_ping/99"}
    fresh["signature"] = sign(engine.services.messages.secret, fresh)
    new_id = engine.messages.submit(fresh, source="test")
    assert [m.id for m in messages(engine)][-1] == new_id
    assert [r["reason"] for r in engine.messages.rejections()] == ["forged", "replayed"]
