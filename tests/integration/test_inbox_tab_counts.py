"""The HTML inbox: tab badges count what the filtered tabs list, and a task its holder may no longer handle says so.

A filtered list under a badge counting every task disagrees with itself (「可认领 2」 over one row). As the API's
``/counts`` takes the list's filters (and a Camunda Tasklist filter's count runs the list's own query), each tab
counts the tasks it shows with the filters in force, says so, and its link keeps them; a filter sent by htmx
swaps the tabs in too. On SQLite and PostgreSQL.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from app import create_app
from app.runtime import get_engine
from engine import ClaimTask, CompleteTask, StartCase
from engine.persistence.models import User

from ..helpers import ACCEPT, CLERK, ZHUJIAN
from ..pages_helpers import client_for, csrf_of, seed

NOTE = "数量为符合当前筛选条件的任务"
NOT_CANDIDATE = "您已不在该任务的办理人员范围内（组织调整），请释放或由负责人转办"
HTMX = {"HX-Request": "true", "HX-Target": "task-list"}


@pytest.fixture
def app(database_url, clock):
    """The seeded case (applicant 重庆某建设有限公司) and a second one, both waiting for 受理 at 渝中's window."""
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    seed(application)
    get_engine(application).handle(StartCase("parallel_approval", CLERK, {"applicant": "两江某科技公司"}, title="办件"))
    yield application
    get_engine(application).close()


def badges(page: str) -> dict[str, int]:
    nav = re.search(r'<nav class="tabs"[^>]*>.*?</nav>', page, re.S).group(0)
    return {label: int(n) for label, n in re.findall(r'(\S+)\s*<span class="count">(\d+)</span>', nav)}


def test_the_badges_count_the_filtered_tabs_and_say_so(app):
    client = client_for(app, "window_yz")
    page = client.get("/?tab=available").get_data(as_text=True)
    assert badges(page) == {"待办": 0, "可认领": 2, "已办": 0} and NOTE not in page
    filtered = client.get("/?tab=available&q=某建设").get_data(as_text=True)
    assert badges(filtered) == {"待办": 0, "可认领": 1, "已办": 0} and NOTE in filtered
    assert filtered.count('href="/tasks/') == 1
    assert badges(client.get("/?tab=available&light=red").get_data(as_text=True))["可认领"] == 0
    assert badges(client.get("/?tab=available&matter=parallel_approval").get_data(as_text=True))["可认领"] == 2


def test_a_tab_link_keeps_the_filters_its_badge_counted_with(app):
    client = client_for(app, "window_yz")
    page = client.get("/?tab=available&q=某建设&light=green").get_data(as_text=True)
    links = dict(re.findall(r'<a href="(/\?tab=[^"]+)"[^>]*>\s*(\S+) <span', page))
    mine = next(href for href, label in links.items() if label == "待办").replace("&amp;", "&")
    assert "q=%E6%9F%90%E5%BB%BA%E8%AE%BE" in mine and "light=green" in mine


def test_an_htmx_filter_swaps_the_tabs_in_with_the_rows(app):
    client = client_for(app, "window_yz")
    partial = client.get("/?tab=available&q=两江", headers=HTMX).get_data(as_text=True)
    assert "<html" not in partial and 'id="inbox-tabs"' in partial and 'hx-swap-oob="true"' in partial
    assert badges(partial) == {"待办": 0, "可认领": 1, "已办": 0} and NOTE in partial
    more = client.get("/?tab=available", headers={"HX-Request": "true", "HX-Target": "more-row"})
    assert 'id="inbox-tabs"' not in more.get_data(as_text=True)


def test_filters_the_inbox_refuses_leave_the_badges_counting_every_task(app):
    client = client_for(app, "window_yz")
    page = client.get("/?tab=available&light=blue").get_data(as_text=True)
    assert "灯色（light）应为 green、yellow、red 之一" in page
    assert badges(page) == {"待办": 0, "可认领": 2, "已办": 0} and NOTE not in page


def test_a_holder_moved_out_of_the_tasks_groups_sees_it_marked_and_is_told_why_on_completion(app):
    engine = get_engine(app)
    accept = next(t for t in engine.queries.tasks(CLERK).items if "某建设" in (t["applicant_name"] or ""))
    engine.handle(ClaimTask(accept["id"], CLERK))
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    review = next(t for t in engine.queries.tasks(ZHUJIAN).items if t["element_id"] == "review_zhujian")
    engine.handle(ClaimTask(review["id"], ZHUJIAN))
    with engine.database.engine.begin() as conn:
        conn.execute(update(User).where(User.username == ZHUJIAN.username).values(district="500101"))
    client = client_for(app, ZHUJIAN.username)
    page = client.get("/?tab=mine").get_data(as_text=True)
    assert NOT_CANDIDATE in page and badges(page)["待办"] == 1
    token = csrf_of(client, f"/tasks/{review['id']}")
    refused = client.post(f"/tasks/{review['id']}/complete", data={
        "csrf_token": token, "approved": "approve", "opinion": "同意"}, follow_redirects=True)
    assert NOT_CANDIDATE in refused.get_data(as_text=True)
    assert client.post(f"/tasks/{review['id']}/unclaim", data={"csrf_token": token}).status_code == 302
    assert badges(client.get("/?tab=mine").get_data(as_text=True))["待办"] == 0
