"""The joint procedure's extension over HTTP: 本级人民政府负责人 lists and decides it (第四十二条第二款)."""
from __future__ import annotations

from typing import Any

from .test_gongcheng import ACCEPT, Story, clock, people  # noqa: F401 (fixtures)
from .test_http_api import assert_error


def listed(client: Any, caller: Any, query: str = "") -> tuple[list[tuple[int, str, bool]], str]:
    response = client.get(f"/api/v1/extension-requests{query}", headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    return ([(r["id"], r["approver_role"], r["may_decide"]) for r in response.get_json()],
            response.headers["X-Total-Count"])


def test_the_government_head_lists_and_decides_the_joint_request_and_a_department_head_is_told_why_not(
        client, people, clock):
    story = Story(client, people, clock, "social")
    story.do("fagai", "s1_accept", ACCEPT)
    asked = client.post(f"/api/v1/cases/{story.case_id}/clocks/extension-requests", headers=people["clerk"].headers,
                        json={"clock": "legal", "days": 15, "reason": "需组织专家论证", "told_to_applicant": True})
    assert asked.status_code == 201, asked.get_json()
    request = asked.get_json()
    assert (request["approver_role"], request["approver_label"]) == ("government_head", "本级人民政府负责人")

    assert listed(client, people["gov"]) == ([(request["id"], "government_head", True)], "1")
    assert listed(client, people["head"]) == ([], "0")                 # the lead department's head: not asked
    (row,), _ = listed(client, people["fagai"])                        # 发改 reads the case: listed, not theirs
    assert row == (request["id"], "government_head", False)

    refused = assert_error(client.post(f"/api/v1/extension-requests/{request['id']}/approve", json={},
                                       headers=people["head"].headers), 403, "EXTENSION_APPROVER_REQUIRED")
    assert "本级人民政府负责人" in refused["message"]
    assert refused["details"] == {"approver_role": "government_head", "approver": "本级人民政府负责人",
                                  "district": "500103"}
    assert_error(client.post(f"/api/v1/extension-requests/{request['id']}/reject", json={"comment": "不同意"},
                             headers=people["fagai"].headers), 403, "EXTENSION_APPROVER_REQUIRED")
    case = client.get(f"/api/v1/cases/{story.case_id}", headers=people["gov"].headers)
    assert case.status_code == 200                                     # asked to decide: reads the case
    assert {c["kind"]: c["extension_approver_role"] for c in case.get_json()["clocks"]} == {
        "legal": "government_head", "committed": "department_head"}   # a 承诺 clock of 50 days: not 第四十二条's
    done = client.post(f"/api/v1/extension-requests/{request['id']}/reject", json={"comment": "理由不充分"},
                       headers=people["gov"].headers)
    assert done.status_code == 200 and done.get_json()["decided_by"] == "gov_yz"
    assert listed(client, people["gov"]) == ([], "0")
