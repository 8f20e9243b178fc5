"""``tongban messages list|retry|discard|submit`` and the worker's message sweep, on both databases."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from app.runtime import get_engine
from engine import CST, ManualClock, MessageWorker
from engine.messages import sign
from tests.integration.test_cli import app, failed, ok, runner  # noqa: F401 - fixtures
from tests.message_helpers import cases, complete, deploy, messages, start_ping


def poison_one(engine) -> int:
    """A pong whose answer the ping's gateway cannot read: delivered again and again until it is poison."""
    deploy(engine)
    ping = start_ping(engine)
    MessageWorker(engine).sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "x"})
    complete(engine, ping, "hold", {})
    fail_until_poison(engine)
    return messages(engine)[1].id


def fail_until_poison(engine) -> None:
    for _ in range(engine.services.messages.max_attempts):
        MessageWorker(engine).sweep()
        engine.clock.advance(timedelta(hours=2))


def test_messages_list_retry_and_discard(app, runner, tmp_path):  # noqa: F811
    app.config["TONGBAN_CLOCK"] = ManualClock(datetime(2026, 11, 23, 1, tzinfo=timezone.utc))
    engine = get_engine(app)
    engine.identity.create_user("admin", display_name="管理员", roles=("admin",), district="500000",
                                department="dsj")
    poisoned = poison_one(engine)
    out = ok(runner.invoke(args=["messages", "list", "--state", "poison"]))
    assert f"#{poisoned} [投递失败（待处理）] pong" in out and "尝试 8 次" in out
    listed = json.loads(ok(runner.invoke(args=["messages", "list", "--json"])))
    assert {m["state"] for m in listed} == {"delivered", "poison"}
    assert "不能丢弃" in failed(runner.invoke(args=["messages", "discard", str(messages(engine)[0].id),
                                                  "--reason", "误操作"]))
    assert "处理理由" in failed(runner.invoke(args=["messages", "retry", str(poisoned), "--reason", " "]))
    assert "不存在" in failed(runner.invoke(args=["messages", "retry", str(poisoned), "--reason", "x",
                                                "--actor", "nobody"]))
    assert "已重新排队" in ok(runner.invoke(args=["messages", "retry", str(poisoned), "--reason", "修复后重试"]))
    assert messages(engine)[1].state == "pending" and messages(engine)[1].attempts == 0
    assert "失败 1 条" in ok(runner.invoke(args=["worker", "--once"]))   # the answer is still unreadable
    assert "不能丢弃" in failed(runner.invoke(args=["messages", "discard", str(poisoned), "--reason", "作废"]))
    fail_until_poison(engine)
    assert "已丢弃" in ok(runner.invoke(args=["messages", "discard", str(poisoned), "--reason", "作废"]))
    assert messages(engine)[1].state == "discarded"


def test_messages_submit_refuses_a_forged_envelope_and_records_it(app, runner, tmp_path):  # noqa: F811
    engine = get_engine(app)
    deploy(engine)
    start_ping(engine)
    [row] = messages(engine)
    envelope = {"idempotency_key": "外部/1/1", "name": "ping", "correlation_key": None, "payload": {"topic": "x"},
                "sender": None, "signature": row.signature}
    path = tmp_path / "envelope.json"
    path.write_text(json.dumps(envelope, ensure_ascii=False), encoding="utf-8")
    assert "签名校验失败" in failed(runner.invoke(args=["messages", "submit", str(path)]))
    rejected = ok(runner.invoke(args=["messages", "list", "--rejections"]))
    assert "[伪造] 外部/1/1 ping" in rejected and rejected.rstrip().endswith("合计：列出拒收记录 1 条")
    rejected_at = engine.messages.rejections(limit=1)[0]["rejected_at"]
    assert f"{rejected_at.astimezone(CST):%Y-%m-%d %H:%M} [伪造]" in rejected       # Beijing time, as --help says
    lost = {"idempotency_key": "外部/1/2", "name": "nobody", "correlation_key": None, "payload": {"topic": "x"},
            "sender": None}
    path.write_text(json.dumps({**lost, "signature": sign(engine.services.messages.secret, lost)}), encoding="utf-8")
    assert "没有流程以消息“nobody”启动，该消息无人接收" in failed(runner.invoke(args=["messages", "submit", str(path)]))
    assert len(messages(engine)) == 1
    (tmp_path / "bad.json").write_text("[1, 2]", encoding="utf-8")
    assert "JSON 对象" in failed(runner.invoke(args=["messages", "submit", str(tmp_path / "bad.json")]))
    (tmp_path / "text.json").write_text("not json", encoding="utf-8")
    said = failed(runner.invoke(args=["messages", "submit", str(tmp_path / "text.json")]))
    assert "不是 UTF-8 编码的 JSON 文件（第 1 行第 1 列）" in said and "Expecting" not in said
