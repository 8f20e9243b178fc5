"""GET /api/v1/extension-requests: the district's heads list its requests; other staff only for cases they read."""
from __future__ import annotations

from .test_case_readers_http import caller
from .test_http_api import assert_error, deployed, start_case  # noqa: F401 (fixture)


def test_a_reviewer_for_whom_the_case_is_404_does_not_list_its_extension_request(app, client, deployed):
    clerk, guihua = deployed["clerk"], deployed["guihua"]
    head = caller(app, "head_sw", ("department_head",), "500103", "shuiwu")
    case_id = start_case(client, clerk)["case_id"]
    asked = client.post(f"/api/v1/cases/{case_id}/clocks/extension-requests", headers=clerk.headers,
                        json={"days": 5, "reason": "需现场勘验"})
    assert asked.status_code == 201, asked.get_json()

    assert_error(client.get(f"/api/v1/cases/{case_id}", headers=guihua.headers), 404, "NOT_FOUND")
    for query in ("state=all", f"case_id={case_id}", f"state=all&case_id={case_id}", ""):
        listing = client.get(f"/api/v1/extension-requests?{query}", headers=guihua.headers)
        assert (listing.status_code, listing.get_json(), listing.headers["X-Total-Count"]) == (200, [], "0"), query
        assert asked.get_json()["case_no"] not in listing.get_data(as_text=True)
    for who in (clerk, head):                       # the requester, and a head of the district asked to decide
        listing = client.get(f"/api/v1/extension-requests?case_id={case_id}", headers=who.headers)
        assert [r["id"] for r in listing.get_json()] == [asked.get_json()["id"]], who.username
        assert listing.headers["X-Total-Count"] == "1"
