"""Page login: argon2 passwords, session cookie flags, CSRF on every page POST, throttling, logout."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from app import create_app
from app.runtime import get_engine
from engine.persistence.models import User

from ..pages_helpers import PASSWORD, client_for, csrf_of, login, seed


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


@pytest.mark.parametrize("target", ["/\nX", "/\r\nSet-Cookie: x=1", "/\tinbox", "/a\x00b", "/a\x7fb", "/a\x85b",
                                    "/a\u2028b", "/a\u2029b", "/a\u202eb", "/a\u2066b"])
def test_a_return_path_with_a_control_character_falls_back_to_the_inbox(client, target):
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next"' not in page
    token = csrf_of(client)
    response = client.post("/login", data={"username": "window_yz", "password": PASSWORD, "csrf_token": token,
                                           "next": target})
    # NUL and direction controls are refused (400) for every form field before any view runs.
    refused_anyway = bool(re.search("[\x00\u202a-\u202e\u2066-\u2069]", target))
    assert (response.status_code, response.headers.get("Location")) == ((400, None) if refused_anyway else (302, "/"))
    assert "Set-Cookie: x" not in str(response.headers)


def test_the_login_link_with_an_encoded_newline_in_next_logs_in_to_the_inbox(client):
    page = client.get("/login?next=/%0aX").get_data(as_text=True)
    field = re.search(r'name="next" value="([^"]*)"', page)
    token = csrf_of(client, "/login?next=/%0aX")
    data = {"username": "window_yz", "password": PASSWORD, "csrf_token": token}
    if field:  # what a browser would submit from the hidden field
        data["next"] = html.unescape(field.group(1))
    response = client.post("/login", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/"



def _cookie_of(client):
    cookie = client.get_cookie("tongban_session")
    assert cookie is not None
    return cookie.value


def _holding(app, cookie):
    """A fresh client holding a copied session cookie (as someone who copied it from the browser would)."""
    copy = app.test_client()
    copy.set_cookie("tongban_session", cookie)
    return copy


def test_logging_out_ends_every_copy_of_the_session_cookie(app, client):
    login(client, "window_yz")
    token = csrf_of(client, "/")
    cookie = _cookie_of(client)
    assert _holding(app, cookie).get("/").status_code == 200
    assert _holding(app, cookie).get("/api/v1/tasks/counts").status_code == 200
    task_id = get_engine(app).queries.tasks(_clerk(app), limit=1).items[0]["id"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    page = _holding(app, cookie).get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    counts = _holding(app, cookie).get("/api/v1/tasks/counts")
    assert counts.status_code == 401 and counts.json["code"] == "UNAUTHENTICATED"
    claim = _holding(app, cookie).post(f"/api/v1/tasks/{task_id}/claim", headers={"X-CSRFToken": token})
    assert claim.status_code == 401 and claim.json["code"] == "UNAUTHENTICATED"
    form = _holding(app, cookie).post(f"/tasks/{task_id}/claim", data={"csrf_token": token})
    assert form.status_code == 302 and form.headers["Location"].startswith("/login")
    assert get_engine(app).queries.task(_clerk(app), task_id)["assignee"] is None


def test_logging_out_ends_the_users_other_sessions_but_a_stale_copy_cannot_log_anyone_out(app, client):
    login(client, "window_yz")
    stale, stale_token = _cookie_of(client), csrf_of(client, "/")
    client.post("/logout", data={"csrf_token": stale_token})
    other_browser = client_for(app, "window_yz")
    again = client_for(app, "window_yz")
    # The old cookie's copy logging out changes nothing for the sessions opened since.
    _holding(app, stale).post("/logout", data={"csrf_token": stale_token})
    assert other_browser.get("/").status_code == 200 and again.get("/").status_code == 200
    # Logging out in one browser ends the user's sessions everywhere, but not another user's.
    reviewer = client_for(app, "reviewer_zj")
    again.post("/logout", data={"csrf_token": csrf_of(again, "/")})
    assert other_browser.get("/").status_code == 302
    assert reviewer.get("/").status_code == 200
    assert login(other_browser, "window_yz").status_code == 302 and other_browser.get("/").status_code == 200


def test_a_session_without_a_generation_or_of_a_deactivated_user_is_refused(app, client):
    login(client, "window_yz")
    cookie = _cookie_of(client)
    with client.session_transaction() as session:
        del session["generation"]
    assert client.get("/").status_code == 302
    assert _holding(app, cookie).get("/").status_code == 200
    with get_engine(app).database.engine.begin() as conn:
        conn.execute(update(User).where(User.username == "window_yz").values(active=False))
    assert _holding(app, cookie).get("/api/v1/tasks/counts").status_code == 401
