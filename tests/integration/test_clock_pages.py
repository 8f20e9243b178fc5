"""The case page names a paused or closed clock (and the tasks that follow it) in words, never 「无时限」."""
from __future__ import annotations

import re


from app.runtime import get_engine
from engine import CompleteTask, SuspendClock

from ..helpers import ACCEPT, APPROVE, CLERK, GUIHUA, XIAOFANG, ZHUJIAN, open_task
from ..pages_helpers import client_for
from .test_pages import app  # noqa: F401 - the fixture: an app with a seeded case




def clock_cells(page: str) -> str:
    return page.split('id="clocks-title"', 1)[1].split("</table>", 1)[0]


def test_a_paused_clock_and_the_tasks_following_it_read_as_paused(app):
    """QA F3: the 时限 table showed 「无时限 已暂停」 and the tasks 「无时限」."""
    engine, case_id = get_engine(app), app.config["CASE_ID"]
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    engine.handle(SuspendClock(case_id, CLERK, "correction", "补正土地证明"))
    page = client_for(app, "window_yz").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "无时限" not in page
    assert len(re.findall(r'class="badge light-paused light-none">.*?已暂停</span>', clock_cells(page))) == 2


def test_a_closed_clock_reads_as_stopped(app):
    engine, case_id = get_engine(app), app.config["CASE_ID"]
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang")):
        engine.handle(CompleteTask(open_task(engine, actor, element)["id"], actor, APPROVE))
    page = client_for(app, "window_yz").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "无时限" not in page and clock_cells(page).count("已停止计时") == 2
