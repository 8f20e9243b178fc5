"""Input faults over HTTP: impossible 居民身份证号, invisible 差评 comments and appeal reasons, appeals by the
wrong person, and the archive of a case that does not exist.

Check characters are computed here with ISO 7064 MOD 11-2 itself (not with the engine's helper), so each
refused number is refused for its birth date or region code, never for its check character.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.runtime import get_engine

from .conftest import Caller
from .test_http_api import assert_error, deployed  # noqa: F401 (fixture)
from .test_intake_http import APPLICATION, post_application
from tests.unit.test_input_faults import mod11_2

from .test_ratings_http import people, public, received_and_closed  # noqa: F401 (fixture)


def with_check(first17: str) -> str:
    return first17 + mod11_2(first17)


def test_the_reference_check_characters_are_right():
    assert with_check("11010519491231002") == "11010519491231002X"           # GB 11643's own example
    for number in ("50010319901301123X", "500103199002301231", "500103209912311232", "500103180001011232",
                   "00000019900101123X"):
        assert with_check(number[:17]) == number                           # QA's numbers: check chars right


BAD_BIRTHS = [
    ("5001031990130112", "出生日期不正确"),      # month 13
    ("5001031990023012", "出生日期不正确"),      # 30 February
    ("5001032099123112", "出生日期不正确"),      # born 2099: in the future
    ("5001031800010112", "出生日期不正确"),      # born 1800
    ("0000001990010112", "行政区划代码不正确"),   # no province 00
]


@pytest.mark.parametrize(("first16", "fault"), BAD_BIRTHS)
def test_an_application_with_an_impossible_id_number_is_refused_for_what_is_wrong(client, deployed,  # noqa: F811
                                                                                   first16, fault):
    number = with_check(first16 + "3")
    body = dict(APPLICATION, applicant={"kind": "person", "name": "张三", "id_type": "111", "id_number": number})
    refused = assert_error(post_application(client, deployed["clerk"], body), 422, "APPLICATION_INVALID")
    (message,) = refused["details"]["fields"]["applicant.id_number"]
    assert message.startswith(f"居民身份证号{fault}") and "校验位" not in message


@pytest.mark.parametrize(("first16", "fault"), BAD_BIRTHS)
def test_an_applicant_account_with_an_impossible_id_number_is_refused(client, deployed, first16, fault):  # noqa: F811
    account = {"username": "zhangsan", "name": "张三", "id_type": "111", "id_number": with_check(first16 + "3"),
               "password": "zhangsan-2026"}
    refused = assert_error(client.post("/api/v1/applicants", headers=deployed["clerk"].headers, json=account),
                           422, "APPLICANT_INVALID")
    assert refused["details"]["fields"]["id_number"][0].startswith(f"居民身份证号{fault}")


def test_an_account_birth_date_is_checked_against_the_engines_clock(client, deployed, clock):  # noqa: F811
    today = clock.now().strftime("%Y%m%d")                                 # the manual clock, not the wall clock
    tomorrow = (clock.now() + timedelta(days=1)).strftime("%Y%m%d")
    base = {"name": "张三", "id_type": "111", "password": "zhangsan-2026"}
    refused = client.post("/api/v1/applicants", headers=deployed["clerk"].headers,
                          json={**base, "username": "baby_tomorrow", "id_number": with_check(f"500103{tomorrow}123")})
    assert "晚于今天" in assert_error(refused, 422, "APPLICANT_INVALID")["details"]["fields"]["id_number"][0]
    born_today = client.post("/api/v1/applicants", headers=deployed["clerk"].headers,
                             json={**base, "username": "baby_today", "id_number": with_check(f"500103{today}123")})
    assert born_today.status_code == 201, born_today.get_data(as_text=True)


# --- 好差评 --------------------------------------------------------------------------------------------------

def test_a_bad_rating_whose_comment_is_only_invisible_characters_has_no_comment(app, client, people):  # noqa: F811
    closed = received_and_closed(client, people)
    pair = {"case_no": closed["case_no"], "query_code": closed["query_code"]}
    for comment in ("\u200b\u200b", "\u200d\u2060\ufeff", " \u3000\u200e "):
        refused = assert_error(public(client, "ratings", **pair, score=4, channel="1", comment=comment), 422,
                               "RATING_INVALID")
        assert list(refused["details"]["fields"]) == ["comment"]
    entered = client.post("/api/v1/ratings", headers=people["clerk"].headers,
                          json={"case_no": closed["case_no"], "score": 5, "channel": "4",
                                "comment": "\u200d\u2060\ufeff"})
    assert list(assert_error(entered, 422, "RATING_INVALID")["details"]["fields"]) == ["comment"]
    assert get_engine(app).ratings.of_case(closed["case_id"]) is None        # nothing recorded, nothing opened
    good = public(client, "ratings", **pair, score=2, channel="1", comment="\u200b")
    assert good.status_code == 201 and good.get_json()["rating"]["comment"] is None


def test_my_cases_answers_a_rating_of_a_case_not_ones_own_as_not_found_whatever_the_comment(app, client,  # noqa: F811
                                                                                            deployed):
    """Ownership is checked first: the answer never depends on the body, so it tells nothing about the case."""
    account = {"username": "zhangsan", "name": "张三", "id_type": "111", "id_number": "500103199001011232",
               "password": "zhangsan-2026"}
    assert client.post("/api/v1/applicants", headers=deployed["clerk"].headers, json=account).status_code == 201
    token = get_engine(app).identity.create_token("zhangsan", label="qa")
    zhang = Caller("zhangsan", {"Authorization": f"Bearer {token}"})
    refused = client.post("/api/v1/my/cases/1/rating", headers=zhang.headers,
                          json={"score": 4, "channel": "1", "comment": "\u200b\u200b"})
    assert assert_error(refused, 404, "NOT_FOUND")["details"] == {"case_id": 1}


def bad_rating(app: Any, client: FlaskClient, people: dict[str, Caller]) -> int:  # noqa: F811
    closed = received_and_closed(client, people)
    rated = public(client, "ratings", case_no=closed["case_no"], query_code=closed["query_code"], score=4,
                   channel="1", comment="窗口让我跑了三趟")
    assert rated.status_code == 201, rated.get_data(as_text=True)
    return int(get_engine(app).ratings.of_case(closed["case_id"])["id"])


def appeal(client: FlaskClient, caller: Caller, rating_id: int, **body: Any):
    return client.post(f"/api/v1/ratings/{rating_id}/appeal", headers=caller.headers, json=body)


def test_a_blank_appeal_reason_is_refused_naming_the_field_the_caller_sent(app, client, people):  # noqa: F811
    rating_id = bad_rating(app, client, people)
    for reason in ("  ", "\u200b\u3000", "\ufeff"):
        refused = assert_error(appeal(client, people["head"], rating_id, reason=reason), 422, "INVALID_INPUT")
        assert list(refused["details"]["fields"]) == ["reason"] and "appeal_reason" not in str(refused)
    shown = client.get(f"/api/v1/ratings/{rating_id}", headers=people["head"].headers).get_json()
    assert shown["rectification"]["stage"] == "整改中"                       # nothing was completed
    accepted = appeal(client, people["head"], rating_id, reason="  评价针对的是另一部门的办件  ")
    assert accepted.status_code == 200 and accepted.get_json()["rectification"]["stage"] == "申诉复核中"
    city = people["city"]
    blank = client.post(f"/api/v1/ratings/{rating_id}/appeal/decision", headers=city.headers,
                        json={"decision": "upheld", "opinion": "\u200b"})
    assert list(assert_error(blank, 422, "INVALID_INPUT")["details"]["fields"]) == ["opinion"]
    decided = client.post(f"/api/v1/ratings/{rating_id}/appeal/decision", headers=city.headers,
                          json={"decision": "upheld", "opinion": "核实属误评"}).get_json()
    assert decided["removed"]["reason"] == "申诉理由：评价针对的是另一部门的办件；复核意见：核实属误评"


def test_a_window_clerk_who_sees_the_rating_may_not_appeal_and_learns_no_task_id(app, client,  # noqa: F811
                                                                                 people):
    rating_id = bad_rating(app, client, people)
    clerk = people["clerk"]
    assert client.get(f"/api/v1/ratings/{rating_id}", headers=clerk.headers).status_code == 200
    refused = assert_error(appeal(client, clerk, rating_id, reason="代部门申诉"), 403, "FORBIDDEN")
    assert refused.get("details") == {"rating_id": rating_id} and "task" not in str(refused)
    assert "差评整改" in refused["message"]


# --- archives ------------------------------------------------------------------------------------------------

def test_the_archive_of_a_case_that_does_not_exist_is_not_found_as_a_case(app, client, deployed):  # noqa: F811
    engine = get_engine(app)
    engine.identity.create_user("auditor_qa", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji")
    auditor = {"Authorization": f"Bearer {engine.identity.create_token('auditor_qa')}"}
    missing = assert_error(client.get("/api/v1/cases/999/archive", headers=auditor), 404, "NOT_FOUND")
    assert missing["message"] == "办件不存在"
    running = post_application(client, deployed["clerk"]).get_json()["case_id"]
    open_case = assert_error(client.get(f"/api/v1/cases/{running}/archive", headers=auditor), 404,
                             "ARCHIVE_NOT_FOUND")
    assert open_case["message"] == "该办件没有归档包（尚未办结）"
