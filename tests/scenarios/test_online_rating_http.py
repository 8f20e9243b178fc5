"""好差评 from 我的办件: the applicant account that applied online rates its own closed case, once.

The login is the credential (no query code). Someone else's case is 404; a running case, a second rating
and a 差评 without a reason are refused with their codes and write nothing; a 差评 goes to the responsible
department for 整改 exactly as a rating made with the query code does. The page offers the same form.
"""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from app.runtime import get_engine
from tests.conftest import ROOT
from tests.pages_helpers import login

from .conftest import Caller
from .test_http_api import assert_error, upload
from .test_online_http import FILES, PDF, ZHANG, apply_online, my_case, open_account
from .test_standard_permit import (  # noqa: F401 (fixtures)
    ACCEPT, GRANT, LICENSE, RECEIPT, RECEIVE, REVIEW, at, clock, do, events, people,
)

LI = {"username": "lisi", "name": "李四", "id_type": "111", "id_number": "500101198808084523",
      "password": "lisi-2026-pass"}


def closed_online_case(client: FlaskClient, people: dict[str, Caller], clock: Any, applicant: Caller) -> int:
    """Apply online, then let the 渝中 window and 住建 take the case to 已办结 (granted, delivered)."""
    at(clock, 3, 2)
    # Every material supplied (none 容缺), so that 当场受理 accepts it on the spot.
    response = apply_online(client, applicant, files={**FILES, "pretreatment_proof": PDF + b"pre"})
    assert response.status_code == 201, response.get_data(as_text=True)
    case_id = response.get_json()["case_id"]
    clerk = people["clerk"]
    do(client, clerk, case_id, "receive", RECEIVE)
    do(client, clerk, case_id, "formal_review", ACCEPT)
    do(client, clerk, case_id, "accept_on_spot", RECEIPT)
    at(clock, 3, 4)
    do(client, people["zhujian"], case_id, "review", REVIEW)
    do(client, people["zhujian_2"], case_id, "review", REVIEW)
    do(client, people["head_zj"], case_id, "decide", GRANT)
    do(client, people["zhujian"], case_id, "issue_license", LICENSE)
    do(client, clerk, case_id, "deliver", {"delivery_method": "electronic", "delivery_note": "电子送达"})
    return case_id


def rate(client: FlaskClient, caller: Caller, case_id: int, **body: Any):
    return client.post(f"/api/v1/my/cases/{case_id}/rating", headers=caller.headers,
                       json={"channel": "1", "comment": "", **body})


def ratings_of(app, case_id: int) -> list[dict[str, Any]]:
    found = get_engine(app).ratings.of_case(case_id)
    return [] if found is None else [found]


def test_the_applicant_rates_its_closed_case_from_my_cases_once(app, client, people, clock):
    zhang = open_account(client, people["clerk"], app)
    li = open_account(client, people["clerk"], app, LI)
    at(clock, 3, 2)
    running = apply_online(client, zhang).get_json()["case_id"]
    assert_error(rate(client, zhang, running, score=1), 409, "CASE_NOT_CLOSED")
    case_id = closed_online_case(client, people, clock, zhang)
    assert my_case(client, zhang, case_id)["can_rate"] is True

    assert_error(rate(client, li, case_id, score=1), 404, "NOT_FOUND")            # not li's case
    assert_error(rate(client, people["clerk"], case_id, score=1), 403, "APPLICANT_ONLY")
    assert_error(rate(client, zhang, case_id, score=7), 422, "RATING_INVALID")
    assert ratings_of(app, case_id) == [] and events(app, case_id, "CaseRated") == []

    at(clock, 3, 9)
    response = rate(client, zhang, case_id, score=2, comment="网上办理很方便")
    assert response.status_code == 201, response.get_data(as_text=True)
    seen = response.get_json()
    assert (seen["can_rate"], seen["rating"]["level"], seen["rating"]["comment"]) == (False, "满意", "网上办理很方便")
    (rated,) = events(app, case_id, "CaseRated")
    assert (rated.actor, rated.payload["source"], rated.payload["score"]) == ("zhangsan", "applicant", 2)
    (rating,) = ratings_of(app, case_id)
    assert (rating["source"], rating["status"]) == ("applicant", "recorded")
    assert_error(rate(client, zhang, case_id, score=1), 409, "ALREADY_RATED")
    assert len(events(app, case_id, "CaseRated")) == 1


def test_a_bad_rating_from_my_cases_needs_a_reason_and_opens_rectification(app, client, people, clock):
    bpmn = ROOT / "processes" / "chaping_zhenggai" / "main.bpmn"
    assert upload(client, people["designer"], [(bpmn.name, bpmn.read_bytes())]).status_code == 201
    zhang = open_account(client, people["clerk"], app)
    case_id = closed_online_case(client, people, clock, zhang)
    refused = rate(client, zhang, case_id, score=5)
    assert_error(refused, 422, "RATING_INVALID")
    assert "comment" in refused.get_json()["details"]["fields"]
    response = rate(client, zhang, case_id, score=5, comment="补正告知不清楚，多跑了一趟")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["rating"]["status"] == "rectifying"
    (opened,) = events(app, case_id, "RectificationOpened")
    assert opened.payload["department"] == "zhujian"


def test_the_case_page_offers_the_rating_form_and_records_it(app, client, people, clock):
    zhang = open_account(client, people["clerk"], app)
    case_id = closed_online_case(client, people, clock, zhang)
    browser = app.test_client()
    assert login(browser, ZHANG["username"], ZHANG["password"]).status_code == 302
    client = browser
    page = client.get(f"/my/cases/{case_id}").get_data(as_text=True)
    assert f'action="/my/cases/{case_id}/rating"' in page and "非常满意" in page and "query_code" not in page
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    missing = client.post(f"/my/cases/{case_id}/rating", data={"csrf_token": csrf, "score": "4", "comment": ""})
    assert missing.status_code == 422
    assert "差评请写明不满意的原因" in missing.get_data(as_text=True)
    assert ratings_of(app, case_id) == []
    done = client.post(f"/my/cases/{case_id}/rating", data={"csrf_token": csrf, "score": "1", "comment": "好"})
    assert done.status_code in (302, 303) and done.headers["Location"].endswith(f"/my/cases/{case_id}?rated=1")
    thanked = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "感谢您的评价" in thanked and "非常满意" in thanked and 'class="rating-form"' not in thanked
    (rating,) = ratings_of(app, case_id)
    assert (rating["score"], rating["channel"], rating["source"]) == (1, "1", "applicant")
