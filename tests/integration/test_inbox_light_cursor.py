"""Light-sorted inbox pages rank every page at the first page's instant, on SQLite and PostgreSQL.

README: keyset cursors continue the sort they were made for. The light sort's first key (red, yellow, green,
none) depends on the time: ranked at each page's own now, a task whose light turns between two pages moves
across the cursor and is listed twice (``desc``) or never (``asc``). The cursor carries the instant its first
page ranked at; the light each row shows stays the current one.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import InvalidInput, StartCase, ensure_calendar_seeded
from engine import cursors
from tests.helpers import CLERK, deploy_shipped


@pytest.fixture
def two_accepts(engine, clock) -> list[dict]:
    """Two green 受理 tasks started an hour apart, in light order (their deadlines may fall on the same instant)."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.handle(StartCase("parallel_approval", CLERK))
    clock.advance(hours=1)
    engine.handle(StartCase("parallel_approval", CLERK))
    tasks = engine.queries.tasks(CLERK, sort="light", order="asc").items
    assert [t["light"] for t in tasks] == ["green", "green"]
    return tasks


def test_light_sorted_pages_do_not_repeat_a_task_whose_light_changed_between_pages(engine, clock, two_accepts):
    """``order=desc``: both turn yellow before the second page, which showed the first page's task again."""
    first = engine.queries.tasks(CLERK, sort="light", order="desc", limit=1)
    clock.set(max(t["yellow_at"] for t in two_accepts))
    second = engine.queries.tasks(CLERK, sort="light", order="desc", limit=1, cursor=first.next_cursor)
    walked = [t["id"] for t in first.items + second.items]
    assert walked[1] != walked[0], f"task {walked[0]} listed on both pages"
    assert sorted(walked) == sorted(t["id"] for t in two_accepts)
    assert [t["light"] for t in second.items] == ["yellow"]       # shown as it is now, ranked as it was
    assert second.next_cursor is None


def test_light_sorted_pages_do_not_skip_a_task_whose_light_changed_between_pages(engine, clock, two_accepts):
    """``order=asc``: the second task turns yellow (rank 1, before green's 2) and fell behind the cursor."""
    first = engine.queries.tasks(CLERK, sort="light", order="asc", limit=1)
    assert [t["id"] for t in first.items] == [two_accepts[0]["id"]]
    clock.set(max(t["yellow_at"] for t in two_accepts))
    second = engine.queries.tasks(CLERK, sort="light", order="asc", limit=1, cursor=first.next_cursor)
    assert [t["id"] for t in second.items] == [two_accepts[1]["id"]]


def test_every_later_page_keeps_ranking_at_the_first_pages_instant(engine, clock, two_accepts):
    """The second page's cursor carries the first page's instant on, not the second page's now."""
    engine.handle(StartCase("parallel_approval", CLERK))
    first = engine.queries.tasks(CLERK, sort="light", order="desc", limit=1)
    made_at = datetime.fromisoformat(cursors.unpack(first.next_cursor)["n"])
    clock.advance(hours=2)
    second = engine.queries.tasks(CLERK, sort="light", order="desc", limit=1, cursor=first.next_cursor)
    assert datetime.fromisoformat(cursors.unpack(second.next_cursor)["n"]) == made_at


def test_a_light_cursor_made_before_it_carried_an_instant_still_continues(engine, clock, two_accepts):
    """A cursor without the instant (handed out before this change) ranks at now, as every page did then."""
    first = engine.queries.tasks(CLERK, sort="light", order="asc", limit=1)
    doc = cursors.unpack(first.next_cursor)
    old = cursors.pack({k: v for k, v in doc.items() if k != "n"})
    second = engine.queries.tasks(CLERK, sort="light", order="asc", limit=1, cursor=old)
    assert [t["id"] for t in second.items] == [two_accepts[1]["id"]]


@pytest.mark.parametrize("instant", ["yesterday", 20261204, "2026-12-04T06:00:00", "1999-12-31T00:00:00+00:00",
                                     "9999-12-31T23:59:59-23:59", None], ids=str)
def test_an_edited_instant_in_a_light_cursor_is_an_invalid_cursor(engine, two_accepts, instant):
    first = engine.queries.tasks(CLERK, sort="light", order="asc", limit=1)
    edited = cursors.pack({**cursors.unpack(first.next_cursor), "n": instant})
    with pytest.raises(InvalidInput) as caught:
        engine.queries.tasks(CLERK, sort="light", order="asc", limit=1, cursor=edited)
    assert caught.value.message == cursors.INVALID
