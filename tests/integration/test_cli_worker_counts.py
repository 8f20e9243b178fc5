"""``tongban worker --once`` reports every count of its wake-up in Chinese, on both databases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.runtime import get_engine
from engine import ManualClock, MessageSweep, MessageWorker, TimerWorker
from engine.timers import SweepResult
from tests.integration.test_cli import app, ok, runner  # noqa: F401 - fixtures
from tests.integration.test_cli_messages import poison_one


def test_worker_once_names_every_count_of_the_timer_sweep_and_the_message_sweep(runner, monkeypatch):  # noqa: F811
    timers = SweepResult(cases=11, failed=12, supervised=13, recounted=14, recount_failed=15, supervision_failed=16,
                         set_aside=17, deemed=18)
    sent = MessageSweep(delivered=21, buffered=22, failed=23, poison=24,
                        other={"expired": 25, "undeliverable": 26, "rejected": 27})
    monkeypatch.setattr(TimerWorker, "sweep", lambda self: timers)
    monkeypatch.setattr(MessageWorker, "sweep", lambda self: sent)
    out = ok(runner.invoke(args=["worker", "--once"]))
    for said in ("已处理 11 个办件的到期定时器，失败 12 个", "17 个定时器已搁置", "新开督办 13 个办件", "16 个办件督办失败",
                 "按现行节假日安排补算期限 14 个办件", "15 个办件补算失败", "逾期未告知补正、视为受理并开始计时 18 个办件",
                 "已投递消息 21 条", "缓存待重试 22 条", "已过期 25 条", "无法投递 26 条", "签名无效拒收 27 条",
                 "失败 23 条", "其中 24 条多次失败已搁置"):
        assert said in out, (said, out)


def test_worker_once_leaves_out_the_failures_that_did_not_happen(runner, monkeypatch):  # noqa: F811
    monkeypatch.setattr(TimerWorker, "sweep", lambda self: SweepResult(cases=0, failed=0))
    monkeypatch.setattr(MessageWorker, "sweep", lambda self: MessageSweep())
    out = ok(runner.invoke(args=["worker", "--once"]))
    assert "补算期限 0 个办件" in out and "视为受理并开始计时 0 个办件" in out and "已过期 0 条" in out
    assert "搁置" not in out and "督办失败" not in out and "补算失败" not in out and "拒收" not in out


@pytest.fixture
def clocked(app):  # noqa: F811
    app.config["TONGBAN_CLOCK"] = ManualClock(datetime(2026, 11, 23, 1, tzinfo=timezone.utc))
    return app


def test_a_message_made_poison_in_a_sweep_is_counted_as_poison(clocked, runner):  # noqa: F811
    engine = get_engine(clocked)
    engine.identity.create_user("admin", display_name="管理员", roles=("admin",), district="500000",
                                department="dsj")
    poisoned = poison_one(engine)
    assert ok(runner.invoke(args=["messages", "retry", str(poisoned), "--reason", "修复后重试"]))
    for _ in range(engine.services.messages.max_attempts - 1):
        out = ok(runner.invoke(args=["worker", "--once"]))
        assert "失败 1 条" in out and "搁置" not in out
        engine.clock.advance(timedelta(hours=2))
    out = ok(runner.invoke(args=["worker", "--once"]))
    assert "失败 1 条（其中 1 条多次失败已搁置" in out, out
