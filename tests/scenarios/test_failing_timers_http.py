"""A deadline timer that keeps failing is told to whoever reads its case: the case page and the case API.

The worker retries a failing timer with back-off (重试中) and after its tenth failed firing sets it aside
(已搁置). The case page shows a warning block (元素, 到期时间 in Beijing time, 状态, 尝试次数, 最近错误, the error
masked and cut short); ``GET /api/v1/cases/<id>`` lists them in ``failing_timers``. A user who may not read the
case gets 404 from both, as before.
"""
from __future__ import annotations

from typing import Any

from app.runtime import get_engine
from engine import Actor, DeployDefinitions, FireDueTimers, StartCase, TimerWorker, WorkflowFailed
from tests.conftest import DATA
from tests.pages_helpers import PASSWORD, client_for

from .conftest import Caller
from .test_http_api import assert_error

ID_NUMBER = "500103198506120317"
ERROR = f"表达式求值失败：申请人身份证号 {ID_NUMBER} <b>不合规</b>；" + "后续细节" * 200
REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
FIELDS = {"id", "element_id", "name", "state", "due_at", "attempts", "retry_at", "last_error"}


def user(app: Any, username: str, roles: tuple[str, ...], district: str, department: str) -> Caller:
    identity = get_engine(app).identity
    identity.create_user(username, display_name=username, roles=roles, district=district, department=department,
                         password=PASSWORD)
    return Caller(username, {"Authorization": f"Bearer {identity.create_token(username, label='t')}"})


def fail_sweeps(app: Any, monkeypatch: Any, times: int) -> None:
    """``times`` wake-ups of the worker, each past the back-off, whose firing fails with :data:`ERROR`."""
    engine = get_engine(app)
    real, worker = engine.handle, TimerWorker(engine)

    def failing(command):
        if isinstance(command, FireDueTimers):
            raise WorkflowFailed(ERROR)
        return real(command)
    with monkeypatch.context() as patch:
        patch.setattr(engine, "handle", failing)
        for _ in range(times):
            engine.clock.advance(hours=2)
            worker.sweep()


def test_a_failing_then_set_aside_timer_is_told_on_the_case_page_and_api_to_its_readers_only(app, client,
                                                                                           monkeypatch):
    engine = get_engine(app)
    reviewer = user(app, "reviewer_yz", ("reviewer",), "500103", "zhujian")
    outsider = user(app, "window_wz", ("window_clerk",), "500101", "zwzx")
    engine.handle(DeployDefinitions((("timer.bpmn", (DATA / "processes" / "timer.bpmn").read_bytes()),)))
    case_id = engine.handle(StartCase("timed_review", REVIEWER)).case_id     # 2026-11-23 09:00: due 11:00
    engine.clock.advance(minutes=1)

    answer = client.get(f"/api/v1/cases/{case_id}", headers=reviewer.headers)
    assert answer.status_code == 200 and answer.get_json()["failing_timers"] == []
    page = client_for(app, "reviewer_yz")
    assert "定时器触发失败" not in page.get(f"/cases/{case_id}").get_data(as_text=True)

    fail_sweeps(app, monkeypatch, 1)                                        # failed once: retried with back-off
    (timer,) = client.get(f"/api/v1/cases/{case_id}", headers=reviewer.headers).get_json()["failing_timers"]
    assert set(timer) == FIELDS
    assert {k: timer[k] for k in ("element_id", "name", "state", "attempts")} == \
        {"element_id": "overdue_timer", "name": "超期", "state": "waiting", "attempts": 1}
    assert timer["due_at"].startswith("2026-11-23T03:00:00") and timer["retry_at"]
    assert len(timer["last_error"]) <= 300 and ID_NUMBER not in timer["last_error"]
    html = page.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "定时器触发失败" in html and ">重试中</span>" in html and "下次 2026-11-23 11:01" in html

    fail_sweeps(app, monkeypatch, 9)                                        # the tenth failure: set aside
    (timer,) = client.get(f"/api/v1/cases/{case_id}", headers=reviewer.headers).get_json()["failing_timers"]
    assert (timer["state"], timer["attempts"], timer["retry_at"]) == ("failed", 10, None)
    html = page.get(f"/cases/{case_id}").get_data(as_text=True)
    block = html[html.index('id="failing-timers"'):html.index("</section>", html.index('id="failing-timers"'))]
    for told in ("定时器触发失败", "元素", "到期时间（北京时间）", "尝试次数", "最近错误", "超期<br><code>overdue_timer</code>",
                 "2026-11-23 11:00", ">已搁置</span>", ">10</td>", "5001**********0317",
                 "&lt;b&gt;不合规&lt;/b&gt;", "tongban timers retry"):
        assert told in block, told
    assert ID_NUMBER not in html and "<b>不合规</b>" not in html
    assert block.count("后续细节") < 100                                   # cut short, not 200 repeats

    assert_error(client.get(f"/api/v1/cases/{case_id}", headers=outsider.headers), 404, "NOT_FOUND")
    assert client_for(app, "window_wz").get(f"/cases/{case_id}").status_code == 404

    # An administrator retries it (the cause is gone): the warning goes, the retry is on the case's record.
    admin = user(app, "ops_admin", ("admin",), "500000", "dsj")
    auditor = user(app, "auditor_yz", ("auditor",), "500103", "zwzx")
    assert TimerWorker.retry_timer(engine, timer["id"], engine.identity.actor_for_username(admin.username))
    assert TimerWorker(engine).sweep().failed == 0
    assert client.get(f"/api/v1/cases/{case_id}", headers=reviewer.headers).get_json()["failing_timers"] == []
    assert "定时器触发失败" not in page.get(f"/cases/{case_id}").get_data(as_text=True)
    history = client.get(f"/api/v1/cases/{case_id}/history?limit=500", headers=auditor.headers).get_json()
    (retried,) = [e for e in history["events"] if e["event_type"] == "TimerRetried"]
    assert retried["actor"]["username"] == "ops_admin" and retried["details"]["action"] == "requeued"
    assert history["integrity"]["ok"] is True
    replayed = client.post(f"/api/v1/cases/{case_id}/replay", headers=auditor.headers)
    assert replayed.status_code == 200 and replayed.get_json()["identical"] is True, replayed.get_json()
    assert client.get(f"/api/v1/cases/{case_id}/verify", headers=auditor.headers).get_json()["ok"] is True
    assert client_for(app, auditor.username).get(f"/cases/{case_id}/history").status_code == 200
