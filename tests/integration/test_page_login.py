"""Page login: argon2 passwords, session cookie flags, CSRF on every page POST, throttling, logout."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app import create_app
from app.runtime import get_engine

from ..pages_helpers import PASSWORD, csrf_of, login, seed


@pytest.fixture
def app(database_url, clock):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    application.config["CASE_ID"] = seed(application)
    yield application
    get_engine(application).close()


@pytest.fixture
def client(app):
    return app.test_client()


def test_the_login_page_is_chinese_and_carries_a_csrf_field(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "用户名" in page and "密码" in page
    assert 'name="csrf_token"' in page


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(client):
    wrong = login(client, "window_yz", "not-the-password")
    unknown = login(client, "nobody_here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        text = response.get_data(as_text=True)
        assert "用户名或密码错误" in text
        assert "不存在" not in text
    assert client.get("/").status_code == 302


def test_logging_in_sets_an_httponly_lax_session_and_opens_the_inbox(client):
    response = login(client, "window_yz")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("tongban_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/").get_data(as_text=True)
    assert "window_yz" in page and "待办" in page and "可认领" in page and "已办" in page


def test_the_session_cookie_is_secure_unless_configured_off(database_url, clock, monkeypatch):
    monkeypatch.setenv("TONGBAN_SESSION_COOKIE_SECURE", "true")
    secure = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("TONGBAN_SESSION_COOKIE_SECURE", "false")
    plain = create_app({"TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.delenv("TONGBAN_SESSION_COOKIE_SECURE")
    default = create_app({"TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    assert default.config["SESSION_COOKIE_SECURE"] is True
    for application in (secure, plain, default):
        engine = application.extensions.get("tongban")
        if engine is not None:
            engine.close()


def test_login_without_the_csrf_token_is_refused(client):
    client.get("/login")
    response = client.post("/login", data={"username": "window_yz", "password": PASSWORD})
    assert response.status_code == 400
    assert "页面可能已过期" in response.get_data(as_text=True)
    forged = client.post("/login", data={"username": "window_yz", "password": PASSWORD, "csrf_token": "x" * 43})
    assert forged.status_code == 400
    assert client.get("/").status_code == 302


def test_every_page_post_needs_the_sessions_csrf_token(app, client):
    login(client, "window_yz")
    task_id = get_engine(app).queries.tasks(_clerk(app), limit=1).items[0]["id"]
    assert client.post(f"/tasks/{task_id}/claim").status_code == 400
    assert client.post(f"/tasks/{task_id}/claim", data={"csrf_token": "wrong"}).status_code == 400
    assert client.post("/logout").status_code == 400
    token = csrf_of(client, "/")
    assert client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token}).status_code == 302
    assert get_engine(app).queries.task(_clerk(app), task_id)["assignee"] == "window_yz"


def test_the_csrf_token_changes_when_someone_logs_in(client):
    before = csrf_of(client)
    login(client, "window_yz")
    assert csrf_of(client, "/") != before


def test_the_api_accepts_the_session_for_reads_and_for_posts_only_with_the_csrf_header(app, client):
    login(client, "window_yz")
    listing = client.get("/api/v1/tasks?scope=available")
    assert listing.status_code == 200 and len(listing.json["items"]) == 1
    task_id = listing.json["items"][0]["id"]
    refused = client.post(f"/api/v1/tasks/{task_id}/claim")
    assert refused.status_code == 400 and refused.json["code"] == "CSRF_FAILED"
    token = csrf_of(client, "/")
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers={"X-CSRFToken": token}).status_code == 200


def test_a_bearer_token_needs_no_csrf_token_and_an_anonymous_post_stays_401(app):
    token = get_engine(app).identity.create_token("window_yz")
    client = app.test_client()
    task_id = get_engine(app).queries.tasks(_clerk(app), limit=1).items[0]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim").status_code == 401
    response = client.post(f"/api/v1/tasks/{task_id}/claim", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_five_failures_lock_the_name_and_address_for_fifteen_minutes(app, client, clock):
    for _ in range(5):
        assert login(client, "window_yz", "wrong-password").status_code == 401
    locked = login(client, "window_yz")
    assert locked.status_code == 429
    assert "登录失败次数过多，请 15 分钟后再试" in locked.get_data(as_text=True)
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    assert login(elsewhere, "window_yz").status_code == 302
    other_user = app.test_client()
    assert login(other_user, "reviewer_zj").status_code == 302
    clock.advance(timedelta(minutes=15, seconds=1))
    assert login(client, "window_yz").status_code == 302


def test_the_failure_count_is_shared_by_every_web_process(app, database_url, clock):
    for _ in range(5):
        login(app.test_client(), "window_yz", "wrong-password")
    second = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    try:
        assert login(second.test_client(), "window_yz").status_code == 429
    finally:
        get_engine(second).close()


def test_a_successful_login_clears_earlier_failures(client):
    for _ in range(4):
        login(client, "window_yz", "wrong-password")
    assert login(client, "window_yz").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    for _ in range(4):
        assert login(client, "window_yz", "wrong-password").status_code == 401
    assert login(client, "window_yz").status_code == 302


def test_logging_out_ends_the_session(client):
    login(client, "window_yz")
    response = client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "您已安全退出" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/tasks").status_code == 401


def test_login_returns_only_to_local_paths(app, client):
    case_id = app.config["CASE_ID"]
    token = csrf_of(client, f"/login?next=/cases/{case_id}")
    response = client.post("/login", data={"username": "window_yz", "password": PASSWORD, "csrf_token": token,
                                           "next": f"/cases/{case_id}"})
    assert response.headers["Location"] == f"/cases/{case_id}"
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        token = csrf_of(client)
        response = client.post("/login", data={"username": "window_yz", "password": PASSWORD,
                                               "csrf_token": token, "next": target})
        assert response.headers["Location"] == "/"
        client.post("/logout", data={"csrf_token": csrf_of(client, "/")})


def _clerk(app):
    return get_engine(app).identity.actor_for_username("window_yz")
