"""Integers no column can hold, over HTTP: 404 for an id in a URL path, 422 for a query or body value, never 500.

Row ids are 64-bit (2^63−1 at most); versions, revisions and event numbers are 32-bit on PostgreSQL (2^31−1).
Past those bounds a number used to reach the database and fail there (``OverflowError`` on SQLite,
``NumericValueOutOfRange`` on PostgreSQL). The bounds live in ``app/bounds.py``; the last test checks that every
integer the API reads goes through them, so a new endpoint cannot forget.
"""
from __future__ import annotations

import base64
import json
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, fields, validate
from werkzeug.routing import IntegerConverter

from app import create_app
from app.bounds import BIGINT_MAX, INTEGER_MAX
from app.runtime import get_engine
from tests.pages_helpers import PASSWORD, login, seed

from .conftest import Caller
from .test_http_api import assert_error

H = 99999999999999999999          # past 2^63−1
TALL = 2 ** 31                    # fits SQLite, not PostgreSQL's INTEGER (versions, revisions, event numbers)
NOT_FOUND_PAGE = "您要找的页面不存在"
APPLICANT = {"username": "zhangsan", "name": "张三", "id_type": "111", "id_number": "500103199001011232",
             "password": "zhangsan-2026"}
STAFF = {"auditor": ("审计", ("auditor",)), "designer": ("流程设计", ("designer",)), "admin": ("管理员", ("admin",))}


def _cursor(sort: str, keys: list[Any]) -> str:
    """An inbox cursor as a client could edit one (the format of engine/cursors.py)."""
    raw = json.dumps({"s": sort, "o": "asc", "k": keys}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- fixtures ------------------------------------------------------------------------------------------------

@pytest.fixture
def people(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """A started case, staff with passwords and tokens, and an applicant account: by name, plus ``case_id``."""
    case_id = seed(app)  # window_yz, reviewer_zj, window_wz; the shipped processes; one 渝中 case
    identity = get_engine(app).identity
    for username, (name, roles) in STAFF.items():
        identity.create_user(username, display_name=name, roles=roles, district="500000", department="dsj",
                             password=PASSWORD)
    people: dict[str, Any] = {"case_id": case_id}
    for username in ("window_yz", *STAFF):
        people[username] = Caller(username, {"Authorization": f"Bearer {identity.create_token(username, label='t')}"})
    opened = client.post("/api/v1/applicants", headers=people["window_yz"].headers, json=APPLICANT)
    assert opened.status_code == 201, opened.get_data(as_text=True)
    people["applicant"] = Caller("zhangsan", {"Authorization": f"Bearer {identity.create_token('zhangsan', label='t')}"})
    return people


def page_client(app: Flask, username: str | None) -> FlaskClient:
    """A browser: logged in as ``username`` (None: anonymous), asking for HTML."""
    browser = app.test_client()
    if username is not None:
        assert login(browser, username).status_code == 302
    return browser


def messages_of(value: Any) -> Iterator[str]:
    """Every message string in an error's ``details.fields`` (nested by location, field and list index)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from messages_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from messages_of(item)


# --- an id in a URL path: 404 NOT_FOUND, as /api/v1/cases/-1 -----------------------------------------------

PATH_IDS = [
    ("GET", f"/api/v1/tasks/{H}", "window_yz"),
    ("GET", f"/api/v1/cases/{H}", "window_yz"),
    ("GET", f"/api/v1/cases/{H}/history", "auditor"),
    ("GET", f"/api/v1/cases/{H}/materials", "window_yz"),
    ("GET", f"/api/v1/cases/{H}/materials/application_form/file", "window_yz"),
    ("GET", f"/api/v1/cases/{H}/history/{H}/state", "auditor"),
    ("GET", "/api/v1/cases/{case}/history/" + str(H) + "/state", "auditor"),
    ("GET", f"/api/v1/cases/{H}/verify", "auditor"),
    ("GET", f"/api/v1/cases/{H}/archive", "auditor"),
    ("GET", f"/api/v1/ratings/{H}", "admin"),
    ("GET", f"/api/v1/drafts/{H}", "designer"),
    ("GET", f"/api/v1/my/cases/{H}", "applicant"),
    ("POST", f"/api/v1/tasks/{H}/claim", "window_yz"),
    ("POST", f"/api/v1/tasks/{H}/complete", "window_yz"),
    ("POST", f"/api/v1/cases/{H}/replay", "auditor"),
    ("POST", f"/api/v1/grants/{H}/revoke", "admin"),
    ("POST", f"/api/v1/messages/{H}/retry", "admin"),
    ("POST", f"/api/v1/drafts/{H}/deploy", "designer"),
    ("GET", f"/api/v1/cases/{BIGINT_MAX + 1}", "window_yz"),
    ("GET", "/api/v1/cases/-1", "window_yz"),  # the behaviour the others now share
]


@pytest.mark.parametrize(("method", "path", "who"), PATH_IDS, ids=[f"{m} {p}" for m, p, _ in PATH_IDS])
def test_an_id_no_row_can_have_in_a_url_path_is_not_found(client, people, method, path, who):
    response = client.open(path.format(case=people["case_id"]), method=method, headers=people[who].headers,
                           json={} if method == "POST" else None)
    body = assert_error(response, 404, "NOT_FOUND")
    assert body["message"] == "资源不存在"


# --- an integer of a query or body past its column: 422 INVALID_INPUT with the range -------------------------

RANGE_64 = f"应在 1 到 {BIGINT_MAX} 之间"
RANGE_32 = f"应在 1 到 {INTEGER_MAX} 之间"
OUT_OF_RANGE = [
    ("GET", "/api/v1/cases/{case}/history?after=" + str(H), "auditor", None, "after", f"应在 0 到 {INTEGER_MAX} 之间"),
    ("GET", "/api/v1/cases/{case}/history?after=" + str(TALL), "auditor", None, "after", f"应在 0 到 {INTEGER_MAX} 之间"),
    ("GET", f"/api/v1/definitions/parallel_approval/diff?from=1&to={H}", "designer", None, "to", RANGE_32),
    ("GET", f"/api/v1/definitions/parallel_approval/diff?from={TALL}&to=1", "designer", None, "from", RANGE_32),
    ("GET", f"/api/v1/matters/11500103MB1D25937B4000118005?version={H}", "window_yz", None, "version", RANGE_32),
    ("POST", "/api/v1/tasks/claim", "window_yz", {"ids": [1, H]}, "ids", RANGE_64),
    ("POST", "/api/v1/cases", "window_yz", {"process_key": "parallel_approval", "version": 1e20}, "version", RANGE_32),
    ("POST", "/api/v1/cases", "window_yz", {"process_key": "parallel_approval", "version": TALL}, "version", RANGE_32),
    ("POST", "/api/v1/drafts", "designer", {"process_key": "p", "bpmn": "<x/>", "base_version": H}, "base_version",
     RANGE_32),
    ("PUT", "/api/v1/drafts/1", "designer", {"revision": H}, "revision", RANGE_32),
    ("POST", "/api/v1/drafts/1/deploy", "designer", {"revision": TALL}, "revision", RANGE_32),
    ("POST", "/api/v1/definitions/parallel_approval/migrations", "admin",
     {"from": 1, "to": H, "all": True, "dry_run": True}, "to", RANGE_32),
    ("POST", "/api/v1/definitions/parallel_approval/migrations", "admin",
     {"from": 1, "to": 1, "cases": [str(H)], "dry_run": True}, "cases", f"办件 id 应为不大于 {BIGINT_MAX} 的整数"),
    ("GET", f"/api/v1/access-log?case={H}", "auditor", None, "case", f"办件 id 应为不大于 {BIGINT_MAX} 的整数"),
]


@pytest.mark.parametrize(("method", "path", "who", "body", "field", "message"), OUT_OF_RANGE,
                         ids=[f"{m} {p} {f}" for m, p, _, _, f, _ in OUT_OF_RANGE])
def test_an_integer_past_its_column_in_a_query_or_body_is_invalid_input(client, people, method, path, who, body,
                                                                        field, message):
    response = client.open(path.format(case=people["case_id"]), method=method, headers=people[who].headers,
                           json=body)
    error = assert_error(response, 422, "INVALID_INPUT")
    where = error["details"]["fields"]["json" if body is not None else "query"]
    assert message in list(messages_of(where[field])), error


@pytest.mark.parametrize("keys", [[TALL, {"t": "2026-12-04T06:00:00+00:00"}, 1],
                                  [0, {"t": "2026-12-04T06:00:00+00:00"}, H]], ids=["rank", "task-id"])
def test_an_edited_inbox_cursor_with_a_number_no_column_holds_is_invalid(client, people, keys):
    response = client.get(f"/api/v1/tasks?sort=light&cursor={_cursor('light', keys)}",
                          headers=people["window_yz"].headers)
    assert assert_error(response, 422, "INVALID_INPUT")["message"] == "分页游标无效"


# --- pages: the Chinese 404 page ---------------------------------------------------------------------------

PAGES = [
    ("window_yz", f"/cases/{H}"),
    ("window_yz", f"/tasks/{H}"),
    ("window_yz", f"/cases/{H}/receipt"),
    ("window_yz", f"/cases/{H}/diagram.bpmn"),
    ("window_yz", f"/cases/{H}/materials/application_form"),
    ("admin", f"/reports/{H}"),
    ("admin", f"/reports/{H}.csv"),
    ("admin", f"/reports?page={H}"),
    ("auditor", f"/cases/{H}/history"),
    ("auditor", f"/cases/{H}/history/1"),
    ("auditor", "/cases/{case}/history?seq=" + str(H)),
    ("auditor", "/cases/{case}/history/rows?after=" + str(H)),
    ("auditor", "/cases/{case}/history/rows?after=" + str(TALL)),
    ("designer", f"/designer/parallel_approval?version={H}"),
    ("designer", f"/designer/parallel_approval?version={TALL}"),
    ("designer", f"/designer/parallel_approval?version={'9' * 5000}"),
    ("designer", f"/designer/parallel_approval?draft={H}"),
    ("designer", f"/designer/forms/review_opinion?draft={H}"),
    (None, f"/my/cases/{H}"),
]


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[p[:80] for _, p in PAGES])
def test_a_page_for_a_number_no_column_holds_is_the_404_page(app, people, who, path):
    response = page_client(app, who).get(path.format(case=people["case_id"]), headers={"Accept": "text/html"})
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    assert NOT_FOUND_PAGE in response.get_data(as_text=True)


# --- the bounds are not too tight: the largest values reach the engine, which says "no such row" ---------------

def test_the_largest_values_a_column_holds_still_reach_the_engine(app, client, people):
    case_id, auditor = people["case_id"], people["auditor"].headers
    missing = assert_error(client.get(f"/api/v1/cases/{BIGINT_MAX}", headers=people["window_yz"].headers),
                           404, "NOT_FOUND")
    assert missing["details"]["case_id"] == BIGINT_MAX  # the engine's answer, not the router's
    assert client.get(f"/api/v1/cases/{case_id}/history?after={INTEGER_MAX}", headers=auditor).status_code == 200
    assert_error(client.get(f"/api/v1/cases/{case_id}/history/{BIGINT_MAX}/state", headers=auditor),
                 404, "EVENT_NOT_FOUND")
    assert_error(client.get(f"/api/v1/definitions/parallel_approval/diff?from=1&to={INTEGER_MAX}",
                            headers=people["designer"].headers), 404, "NOT_FOUND")
    claimed = client.post("/api/v1/tasks/claim", json={"ids": [BIGINT_MAX]}, headers=people["window_yz"].headers)
    assert claimed.status_code == 200 and claimed.get_json()["results"][0]["result"] == "not_found"
    designer = page_client(app, "designer")
    assert designer.get(f"/designer/parallel_approval?version={INTEGER_MAX}").status_code == 404
    assert designer.get("/designer/parallel_approval?version=abc").status_code == 422  # not a number: said so
    rows = page_client(app, "auditor").get(f"/cases/{case_id}/history/rows?after={INTEGER_MAX}",
                                           headers={"HX-Request": "true"})
    assert rows.status_code == 200


# --- every integer the API reads is bounded --------------------------------------------------------------------

# Integers the engine checks against a short list before any query (a rating's score: 1 to 5, RATING_INVALID).
CHECKED_BY_THE_ENGINE = {"score"}


def _argument_schemas(app: Flask) -> Iterator[tuple[str, Schema]]:
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        handlers = [getattr(view_class, m) for m in ("get", "post", "put", "patch", "delete")
                    if hasattr(view_class, m)] if view_class else [view]
        for handler in handlers:
            for argument in (getattr(handler, "_apidoc", None) or {}).get("arguments", {}).get("parameters", []):
                schema = argument["schema"]
                yield endpoint, schema() if isinstance(schema, type) else schema


def _numbers(field: fields.Field, name: str) -> Iterator[tuple[str, fields.Field]]:
    if isinstance(field, fields.Nested):
        for inner_name, inner in field.schema.load_fields.items():
            yield from _numbers(inner, f"{name}.{inner_name}")
    elif isinstance(field, fields.List):
        yield from _numbers(field.inner, f"{name}[]")
    elif isinstance(field, fields.Dict) and field.value_field is not None:
        yield from _numbers(field.value_field, f"{name}{{}}")
    elif isinstance(field, fields.Integer):
        yield name, field


def test_every_integer_the_api_reads_is_bounded_by_a_column():
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": "sqlite://"})
    unbounded, seen = [], 0
    for endpoint, schema in _argument_schemas(app):
        for top, field in schema.load_fields.items():
            for name, number in _numbers(field, top):
                seen += 1
                ranges = [v for v in number.validators if isinstance(v, validate.Range)]
                if name not in CHECKED_BY_THE_ENGINE and not any(
                        r.min is not None and r.max is not None and -BIGINT_MAX - 1 <= r.min and r.max <= BIGINT_MAX
                        for r in ranges):
                    unbounded.append(f"{endpoint}: {name}")
    assert seen > 20 and not unbounded, unbounded
    converters = [(str(rule), c) for rule in app.url_map.iter_rules() for c in rule._converters.values()
                  if isinstance(c, IntegerConverter)]
    assert len(converters) > 30 and all(c.max == BIGINT_MAX for _, c in converters), converters
    # The OpenAPI document tells clients the bounds.
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert paths["/api/v1/cases/{case_id}"]["parameters"][0]["schema"]["maximum"] == BIGINT_MAX
    after = next(p for p in paths["/api/v1/cases/{case_id}/history"]["get"]["parameters"] if p["name"] == "after")
    assert after["schema"]["maximum"] == INTEGER_MAX


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_a_url_no_route_matches_is_the_404_page_for_a_browser_and_json_for_an_api_client(app, people):
    browser = page_client(app, "window_yz")
    page = browser.get(f"/cases/{H}", headers={"Accept": BROWSER_ACCEPT})
    assert (page.status_code, page.mimetype) == (404, "text/html") and NOT_FOUND_PAGE in page.get_data(as_text=True)
    api = browser.get(f"/cases/{H}", headers={"Accept": "*/*"})              # curl's default
    assert (api.status_code, api.get_json()["code"]) == (404, "NOT_FOUND")
