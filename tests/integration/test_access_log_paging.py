"""Reading the whole access log (查阅记录) page by page, newest first, on both databases: API, CLI, history page.

Pages are keyset-paginated on ``id``. The API keeps its JSON array body and announces the next page in the
``X-Next-Cursor`` and ``Link: <...>; rel="next"`` headers; ``tongban audit access`` takes ``--before CURSOR``
and prints the command for the next page (``next_cursor`` with ``--json``). A cursor is bound to the ``case``
and ``actor`` filters it was made for.
"""
from __future__ import annotations

import base64
import json
import re
import shlex
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from app.runtime import get_engine
from engine import CST
from engine.access_log import encode_cursor
from engine.inbox import encode_cursor as inbox_cursor

from .test_material_downloads import app, client, headers, receive, received  # noqa: F401 (fixtures)

ACTORS = ("window_yz", "auditor", "window_yz2")
ROWS = 23      # case A gets 12 rows (a multiple of 3 and 4), case B 11; each user downloads from both cases


@pytest.fixture
def logged(app, client, headers, received, clock) -> dict[str, Any]:  # noqa: F811
    """Two cases and 23 recorded downloads by three users; several share one instant (ties in ``at``)."""
    other = receive(client, headers)
    cases = [(received["case_id"], received["case_no"]), (other["case_id"], other["case_no"])]
    engine = get_engine(app)
    for i in range(ROWS):
        if i % 4 == 0:
            clock.advance(minutes=1)
        case_id, case_no = cases[i % 2]
        engine.access_log.record(engine.identity.actor_for_username(ACTORS[i % 3]), case_id=case_id,
                                 case_no=case_no, resource="application_form", sha256=None, outcome="served")
    return {"a": cases[0], "b": cases[1]}


def expected(app, case_id: int | None = None, actor: str | None = None) -> list[int]:
    """The ids the listing must show, newest first, read straight from the table."""
    with get_engine(app).database.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, case_id, actor FROM access_log ORDER BY id DESC")).all()
    return [r.id for r in rows if case_id in (None, r.case_id) and actor in (None, r.actor)]


def walk_api(client, auditor: dict[str, str], **params: Any) -> list[list[int]]:  # noqa: F811
    """Follow the ``Link: rel="next"`` headers from the first page to the last; return each page's ids."""
    pages: list[list[int]] = []
    url = "/api/v1/access-log"
    response = client.get(url, headers=auditor, query_string=params)
    while True:
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert isinstance(body, list)                  # the body is still the bare array it always was
        pages.append([e["id"] for e in body])
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "Link" not in response.headers
            return pages
        link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["Link"])
        assert link, response.headers["Link"]
        following = urlsplit(link.group(1))
        assert following.path == url
        assert parse_qs(following.query) == {**{k: [str(v)] for k, v in params.items()}, "cursor": [cursor]}
        response = client.get(link.group(1), headers=auditor)
        assert len(pages) < 50, "the cursors never end"


@pytest.mark.parametrize("filters", [
    {}, {"case": "a_no"}, {"case": "b_id"}, {"actor": "auditor"}, {"case": "a_no", "actor": "window_yz"},
], ids=["all", "case-no", "case-id", "actor", "case-and-actor"])
def test_paging_through_the_api_shows_every_row_exactly_once_newest_first(app, client, headers, logged,  # noqa: F811
                                                                       filters):
    params = dict(filters)
    case_id = None
    if "case" in params:
        (case_id, case_no) = logged[params["case"][0]]
        params["case"] = case_no if params["case"].endswith("_no") else str(case_id)
    pages = walk_api(client, headers["auditor"], limit=3, **params)
    want = expected(app, case_id, params.get("actor"))
    assert [i for page in pages for i in page] == want and len(want) > 3        # more than one page
    assert all(len(page) == 3 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 3   # no empty last page
    whole = client.get("/api/v1/access-log", headers=headers["auditor"], query_string={**params, "limit": 1000})
    assert [e["id"] for e in whole.get_json()] == want and "X-Next-Cursor" not in whole.headers


def test_a_page_ending_exactly_at_the_oldest_row_has_no_next_cursor(app, client, headers, logged):  # noqa: F811
    case_id, case_no = logged["a"]
    pages = walk_api(client, headers["auditor"], case=case_no, limit=4)
    assert [len(page) for page in pages] == [4, 4, 4]


def test_rows_recorded_while_paging_do_not_shift_the_older_pages(app, client, headers, logged):  # noqa: F811
    before = expected(app)
    first = client.get("/api/v1/access-log", headers=headers["auditor"], query_string={"limit": 5})
    engine = get_engine(app)
    case_id, case_no = logged["a"]
    engine.access_log.record(engine.identity.actor_for_username("auditor"), case_id=case_id, case_no=case_no,
                             resource="bid_notice", sha256=None, outcome="served")
    rest = client.get("/api/v1/access-log", headers=headers["auditor"],
                      query_string={"limit": 1000, "cursor": first.headers["X-Next-Cursor"]})
    assert [e["id"] for e in first.get_json() + rest.get_json()] == before


def test_a_malformed_cursor_or_one_made_for_other_filters_is_refused_with_its_code(app, client, headers,  # noqa: F811
                                                                                  logged):
    auditor = headers["auditor"]
    (a_id, a_no), (_, b_no) = logged["a"], logged["b"]

    def listing(**params: Any):
        return client.get("/api/v1/access-log", headers=auditor, query_string=params)

    made_for_a = listing(case=a_no, limit=2).headers["X-Next-Cursor"]
    made_for_all = listing(limit=2).headers["X-Next-Cursor"]
    for cursor, params in ((made_for_a, {"case": b_no}), (made_for_a, {}), (made_for_a, {"case": str(a_id)}),
                           (made_for_a, {"case": a_no, "actor": "auditor"}), (made_for_all, {"actor": "auditor"}),
                           (made_for_all, {"case": a_no})):
        refused = listing(cursor=cursor, limit=2, **params)
        body = refused.get_json()
        assert (refused.status_code, body["code"]) == (400, "CURSOR_FILTER_MISMATCH"), (params, body)
        assert "分页游标属于另一组筛选条件" in body["message"]
        assert body["details"]["filters"] == {"case": params.get("case"), "actor": params.get("actor")}
    assert listing(cursor=made_for_a, case=b_no).get_json()["details"]["cursor_filters"] == {"case": a_no,
                                                                                              "actor": None}
    # Not a cursor of this log at all: refused as the inbox refuses a malformed cursor, never ignored.
    forged = [
        "garbage", "eyJzIjoiZHVlIn0", "%%%", inbox_cursor("created", "asc", [datetime(2026, 11, 23, tzinfo=CST), 3]),
        encode_cursor(5, case=None, actor=None)[:-3],
    ]
    for doc in ({"s": "access_log", "o": "asc", "k": [5], "f": {"case": None, "actor": None}},
                {"s": "access_log", "o": "desc", "k": ["5"], "f": {"case": None, "actor": None}},
                {"s": "access_log", "o": "desc", "k": [True], "f": {"case": None, "actor": None}},
                {"s": "access_log", "o": "desc", "k": [2 ** 63], "f": {"case": None, "actor": None}},
                {"s": "access_log", "o": "desc", "k": [0], "f": {"case": None, "actor": None}},
                {"s": "access_log", "o": "desc", "k": [5], "f": {"case": 12, "actor": None}},
                {"s": "access_log", "o": "desc", "k": [5, 6], "f": {"case": None, "actor": None}},
                {"s": "access_log", "o": "desc", "k": [5], "f": {"case": None}},
                {"s": "access_log", "o": "desc", "k": [5]}, ["access_log"]):
        forged.append(base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("="))
    for cursor in forged:
        refused = listing(cursor=cursor)
        body = refused.get_json()
        assert (refused.status_code, body["code"], body["message"]) == (422, "INVALID_INPUT", "分页游标无效"), cursor
    assert listing(cursor="x" * 1025).status_code == 422                      # longer than any cursor made here
    # The permission rule is unchanged: staff who are not auditors get 403, with or without a cursor.
    assert listing(cursor=made_for_all).status_code == 200
    assert client.get("/api/v1/access-log", headers=headers["window_yz"],
                      query_string={"cursor": made_for_all}).status_code == 403


def test_the_openapi_document_describes_the_cursor_and_the_next_page_headers(client):  # noqa: F811
    operation = client.get("/api/openapi.json").get_json()["paths"]["/api/v1/access-log"]["get"]
    assert {"case", "actor", "limit", "cursor"} <= {p["name"] for p in operation["parameters"]}
    assert {"X-Next-Cursor", "Link"} <= set(operation["responses"]["200"]["headers"])
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "CURSOR_FILTER_MISMATCH" in operation["responses"]["400"]["description"]
    assert "X-Next-Cursor" in operation["description"]


# --- tongban audit access --------------------------------------------------------------------------------------

def test_the_cli_pages_with_before_and_prints_the_command_for_the_next_page(app, logged):
    runner = app.test_cli_runner()
    case_id, case_no = logged["b"]
    args = ["audit", "access", "--case", case_no, "--limit", "4"]
    seen = 0
    for page in range(10):  # noqa: B007 (the number of the last page is checked)
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        if not lines[-1].startswith("下一页："):
            break
        assert lines[-2] == "本页 4 条查阅记录，还有更早的记录" and len(lines) == 6
        assert all(case_no in line and "application_form" in line for line in lines[:4])
        seen += 4
        command = shlex.split(lines[-1].removeprefix("下一页："))
        assert command[:2] == ["tongban", "audit"] and command[-2] == "--before"
        args = command[1:]                                  # the printed command runs as it is
    assert page == 2 and lines[-1] == "本页 3 条查阅记录，没有更早的记录了"
    assert seen + 3 == len(expected(app, case_id)) == 11
    whole = runner.invoke(args=["audit", "access", "--case", case_no])
    assert whole.stdout.splitlines()[-1] == "共 11 条查阅记录"


def test_the_cli_json_carries_next_cursor_and_refuses_a_cursor_for_other_filters(app, logged):
    runner = app.test_cli_runner()
    walked: list[int] = []
    args = ["audit", "access", "--actor", "auditor", "--limit", "3", "--json"]
    while True:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        page = json.loads(result.stdout)
        assert set(page) == {"items", "next_cursor"} and page["items"]
        assert {e["actor"] for e in page["items"]} == {"auditor"}
        walked += [e["id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        args = ["audit", "access", "--actor", "auditor", "--limit", "3", "--json", "--before", page["next_cursor"]]
    assert walked == expected(app, actor="auditor")
    cursor = json.loads(runner.invoke(args=["audit", "access", "--limit", "3", "--json"]).stdout)["next_cursor"]
    refused = runner.invoke(args=["audit", "access", "--actor", "window_yz", "--before", cursor])
    assert refused.exit_code == 2 and "错误 [CURSOR_FILTER_MISMATCH]" in refused.stderr
    assert "分页游标属于另一组筛选条件（办件 不限、用户 不限）" in refused.stderr
    garbage = runner.invoke(args=["audit", "access", "--before", "garbage"])
    assert garbage.exit_code == 2 and "错误 [INVALID_INPUT]：分页游标无效" in garbage.stderr


def test_an_unknown_case_is_not_found_rather_than_an_empty_log(app, client, headers, logged):  # noqa: F811
    """A mistyped 办件编号 or id must not read as "nobody ever opened its materials"."""
    runner = app.test_cli_runner()
    for case in ("NOPE", "424242"):
        result = runner.invoke(args=["audit", "access", "--case", case])
        assert result.exit_code == 2 and result.output.startswith(f"错误 [NOT_FOUND]：办件 {case} 不存在"), result.output
        response = client.get("/api/v1/access-log", headers=headers["auditor"], query_string={"case": case})
        assert response.status_code == 404 and response.get_json()["code"] == "NOT_FOUND"
    case_id, case_no = logged["a"]
    for case in (str(case_id), case_no):   # a real case is still found either way
        assert runner.invoke(args=["audit", "access", "--case", case]).stdout.splitlines()[-1] == "共 12 条查阅记录"
