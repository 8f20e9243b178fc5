"""好差评 over HTTP: ID numbers in a comment or an appeal are masked for every role but windows and auditors."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from .conftest import Caller
from .test_http_api import deployed  # noqa: F401 - fixture
from .test_masking_http import caller
from .test_ratings_http import people, received_and_closed  # noqa: F401 - fixture

ID_NUMBER = "500103199001011232"
MASKED = "5001**********1232"
MOBILE = "13800138000"


def rating_bodies(client: FlaskClient, who: Caller, rating_id: int) -> list[str]:
    """The rating list and the one rating as ``who`` gets them, as text."""
    listed = client.get("/api/v1/ratings", headers=who.headers)
    shown = client.get(f"/api/v1/ratings/{rating_id}", headers=who.headers)
    assert (listed.status_code, shown.status_code) == (200, 200), shown.get_data(as_text=True)
    return [listed.get_data(as_text=True), shown.get_data(as_text=True)]


def test_id_numbers_in_a_comment_and_an_appeal_are_masked_for_all_but_windows_and_auditors(app, client, people):
    closed = received_and_closed(client, people)
    comment = f"窗口要求反复提交身份证复印件 {ID_NUMBER} 联系 {MOBILE}"
    entered = client.post("/api/v1/ratings", headers=people["clerk"].headers,
                          json={"case_no": closed["case_no"], "score": 5, "channel": "4", "comment": comment})
    assert entered.status_code == 201, entered.get_data(as_text=True)
    rating: dict[str, Any] = entered.get_json()
    assert rating["comment"] == comment                      # the window typed it in: it sees it whole
    rating_id = rating["id"]

    admin = caller(app, "admin_city", ("admin",), "500000", "dsj")
    auditor = caller(app, "auditor_city", ("auditor",), "500000", "shenji")
    masked_comment = f"窗口要求反复提交身份证复印件 {MASKED} 联系 {MOBILE}"
    for who in (people["supervisor"], people["city"], admin, people["head"]):
        for body in rating_bodies(client, who, rating_id):
            assert ID_NUMBER not in body and masked_comment in body, (who.username, body)
    for who in (people["clerk"], auditor):
        for body in rating_bodies(client, who, rating_id):
            assert comment in body, (who.username, body)

    appealed = client.post(f"/api/v1/ratings/{rating_id}/appeal", headers=people["head"].headers,
                           json={"reason": f"评价人身份证 {ID_NUMBER} 与申请人不符"})
    assert appealed.status_code == 200, appealed.get_data(as_text=True)
    assert ID_NUMBER not in appealed.get_data(as_text=True)
    decided = client.post(f"/api/v1/ratings/{rating_id}/appeal/decision", headers=people["city"].headers,
                          json={"decision": "upheld", "opinion": f"核实 {ID_NUMBER} 非申请人"})
    assert decided.status_code == 200, decided.get_data(as_text=True)
    assert decided.get_json()["removed"]["reason"] == (
        f"申诉理由：评价人身份证 {MASKED} 与申请人不符；复核意见：核实 {MASKED} 非申请人")
    assert ID_NUMBER not in decided.get_data(as_text=True)
    for body in rating_bodies(client, people["supervisor"], rating_id):
        assert ID_NUMBER not in body
    shown = client.get(f"/api/v1/ratings/{rating_id}", headers=auditor.headers).get_json()
    assert shown["removed"]["reason"] == (
        f"申诉理由：评价人身份证 {ID_NUMBER} 与申请人不符；复核意见：核实 {ID_NUMBER} 非申请人")
