"""The /query page through Flask's test client on both databases: no login, CSRF, htmx partials, statuses."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.runtime import get_engine
from engine import Actor, CompleteTask, ExtendDeadline, ensure_calendar_seeded
from tests.helpers import ACCEPT, CLERK, deploy_shipped
from tests.pages_helpers import csrf_of
from tests.rating_helpers import closed_case, food_application, food_correction, receive, task_of

HTMX = {"HX-Request": "true"}
PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"}


@pytest.fixture
def app(database_url: str, clock, tmp_path: Path) -> Iterator[Flask]:
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials")})
    engine = get_engine(application)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    yield application
    engine.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post(client: FlaskClient, path: str, headers: dict[str, str] | None = None, **form: str):
    return client.post(path, data={"csrf_token": csrf_of(client, "/query"), **form}, headers=headers or {})


def test_the_page_needs_no_login_but_a_csrf_token(client):
    page = client.get("/query")
    assert page.status_code == 200 and "办件查询" in page.get_data(as_text=True)
    assert 'name="query_code"' in page.get_data(as_text=True) and "退出登录" not in page.get_data(as_text=True)
    assert client.post("/query", data={"case_no": "TB1", "query_code": "X"}).status_code == 400
    empty = post(client, "/query", case_no=" ", query_code="")
    assert empty.status_code == 422 and "请填写办件编号和查询码" in empty.get_data(as_text=True)


def test_a_lookup_answers_with_a_partial_for_htmx_and_the_whole_page_without(app, client):
    case = food_application(get_engine(app))
    food_correction(get_engine(app), case)
    wrong = post(client, "/query", HTMX, case_no=case.case_no, query_code="WRONG")
    assert wrong.status_code == 404 and "<html" not in wrong.get_data(as_text=True)
    assert "办件编号或查询码不正确" in wrong.get_data(as_text=True)
    found = post(client, "/query", HTMX, case_no=case.case_no, query_code=case.query_code)
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "<html" not in html
    assert "待补正" in html and "经营场所平面布局图" in html and "标明操作间面积" in html
    assert "重庆某餐饮管理有限公司" not in html and "13800138000" not in html
    whole = post(client, "/query", case_no=case.case_no, query_code=case.query_code)
    assert "<html" in whole.get_data(as_text=True) and "待补正" in whole.get_data(as_text=True)


def test_guessing_is_throttled_with_retry_after(app, client):
    case = closed_case(get_engine(app))
    for _ in range(5):
        assert post(client, "/query", HTMX, case_no=case.case_no, query_code="WRONG").status_code == 404
    locked = post(client, "/query", HTMX, case_no=case.case_no, query_code=case.query_code)
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "900"
    assert "查询失败次数过多，请 15 分钟后再试" in locked.get_data(as_text=True)
    rating = post(client, "/query/rate", HTMX, case_no=case.case_no, query_code=case.query_code, score="1")
    assert rating.status_code == 429


def test_a_closed_case_is_rated_once_from_the_page_on_a_phone(app, client):
    case = closed_case(get_engine(app))
    form = post(client, "/query", HTMX, case_no=case.case_no, query_code=case.query_code).get_data(as_text=True)
    assert "已办结" in form and "提交评价" in form and 'name="query_code" value="' in form
    no_score = post(client, "/query/rate", {**HTMX, **PHONE}, case_no=case.case_no, query_code=case.query_code)
    assert no_score.status_code == 422 and "满意度应为 1 到 5 的整数" in no_score.get_data(as_text=True)
    no_reason = post(client, "/query/rate", {**HTMX, **PHONE}, case_no=case.case_no, query_code=case.query_code,
                     score="4")
    assert no_reason.status_code == 422 and "差评请写明不满意的原因" in no_reason.get_data(as_text=True)
    assert re.search(r'value="4"\s+checked', no_reason.get_data(as_text=True))          # the choice is kept
    done = post(client, "/query/rate", {**HTMX, **PHONE}, case_no=case.case_no, query_code=case.query_code,
                score="4", comment="窗口说法不一")
    assert done.status_code == 201 and "感谢您的评价" in done.get_data(as_text=True)
    assert "不满意" in done.get_data(as_text=True) and "提交评价" not in done.get_data(as_text=True)
    (rating,) = get_engine(app).ratings.list(Actor("auditor", ("auditor",)))
    assert (rating["channel_name"], rating["comment"]) == ("移动服务端", "窗口说法不一")
    again = post(client, "/query/rate", HTMX, case_no=case.case_no, query_code=case.query_code, score="1")
    assert again.status_code == 409 and "每件办件只能评价一次" in again.get_data(as_text=True)


def test_an_extension_and_its_reason_are_told_to_the_applicant(app, client):
    """行政许可法第四十二条: the applicant is told the extension's reason; the query page shows it."""
    engine = get_engine(app)
    case = receive(engine)
    engine.handle(CompleteTask(task_of(engine, CLERK, "accept", case.case_id)["id"], CLERK, ACCEPT))
    head = Actor("head_yz", ("department_head", "reviewer"), "500103", "zhujian")   # reads the case: 住建 reviews it
    engine.identity.create_user(head.username, display_name="科长", roles=head.roles, district="500103",
                                department="zhujian")
    engine.handle(ExtendDeadline(case.case_id, head, 10, "需组织专家评审<b>论证</b>", told_to_applicant=True))
    html = post(client, "/query", HTMX, case_no=case.case_no, query_code=case.query_code).get_data(as_text=True)
    assert "经负责人批准延长 10 个工作日，理由：需组织专家评审&lt;b&gt;论证&lt;/b&gt;" in html
