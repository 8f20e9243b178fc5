"""办件查询 needs no login, so a caller who happens to be logged in gets the answer anyone gets, on both databases.

The QA report: ``POST /api/v1/applications/lookup`` (the query code printed on the counter's receipt) answered an
applicant account's token 403 ``STAFF_ONLY``, while the same request without a token was answered: the applicant
wall let applicants reach the public 办件查询 API but not this older address of it.
"""
from __future__ import annotations

import re

from tests.pages_helpers import csrf_of, login

from .test_http_api import assert_error
from .test_online_http import ZHANG, apply_online, open_account
from .test_standard_permit import clock, people  # noqa: F401 (fixtures)

LOOKUPS = ("/api/v1/applications/lookup", "/api/v1/public/lookup")
_INT_PART, _PART = re.compile(r"<int:\w+>"), re.compile(r"<[^>]+>")


def test_an_applicant_or_staff_token_gets_the_anonymous_answer_from_the_no_login_lookups(app, client, people):
    clerk = people["clerk"]
    zhang = open_account(client, clerk, app)
    applied = apply_online(client, zhang).get_json()
    right = {"case_no": applied["case_no"], "query_code": applied["query_code"]}
    for url in LOOKUPS:
        anonymous = client.post(url, json=right)
        assert anonymous.status_code == 200, anonymous.get_data(as_text=True)
        for caller in (zhang, clerk):
            answer = client.post(url, json=right, headers=caller.headers)
            assert (url, caller.username, answer.status_code, answer.get_json()) == (
                url, caller.username, 200, anonymous.get_json())
        assert_error(client.post(url, json={**right, "query_code": "ZZZZZZZZ"}, headers=zhang.headers),
                     404, "QUERY_CODE_MISMATCH")


def test_an_applicant_logged_in_on_the_pages_gets_the_anonymous_answer_too(app, client, people):
    zhang = open_account(client, people["clerk"], app)
    applied = apply_online(client, zhang).get_json()
    right = {"case_no": applied["case_no"], "query_code": applied["query_code"]}
    browser = app.test_client()
    assert login(browser, ZHANG["username"], ZHANG["password"]).status_code == 302
    token = csrf_of(browser, "/query")
    for url in LOOKUPS:
        expected = app.test_client().post(url, json=right).get_json()
        answer = browser.post(url, json=right, headers={"X-CSRFToken": token})
        assert (url, answer.status_code, answer.get_json()) == (url, 200, expected)
    # The wall still stands everywhere else.
    assert_error(browser.get("/api/v1/matters"), 403, "STAFF_ONLY")


def test_every_api_endpoint_that_answers_without_a_login_answers_an_applicant_account_too(app, client, people):
    """The wall closes to applicants what it does not know; whatever needs no login must stay open to them."""
    zhang = open_account(client, people["clerk"], app)
    refused, open_ = [], []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        url = _PART.sub("x", _INT_PART.sub("1", rule.rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            call, body = getattr(client, method.lower()), {"json": {}} if method in ("POST", "PUT") else {}
            if call(url, **body).status_code == 401:
                continue   # needs a login: the wall decides
            open_.append(f"{method} {rule.rule}")
            answer = call(url, headers=zhang.headers, **body)
            if answer.status_code == 403 and answer.get_json(silent=True).get("code") == "STAFF_ONLY":
                refused.append(f"{method} {rule.rule}")
    assert "POST /api/v1/applications/lookup" in open_ and "GET /api/health" in open_
    assert refused == []
