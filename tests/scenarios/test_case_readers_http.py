"""Who reads a case over HTTP: a district's supervisors read their district's cases only; a reader the rules
refuse gets 404 from every door to the case (API, history, materials, pages), never a 500."""
from __future__ import annotations

from typing import Any

import pytest

from app.runtime import get_engine

from .conftest import Caller
from .test_http_api import assert_error, deployed, start_case  # noqa: F401 (fixture)


def caller(app: Any, username: str, roles: tuple[str, ...], district: str, department: str | None = None) -> Caller:
    identity = get_engine(app).identity
    identity.create_user(username, display_name=username, roles=roles, district=district, department=department)
    return Caller(username, {"Authorization": f"Bearer {identity.create_token(username, label='t')}"})


DOORS = ("/api/v1/cases/{id}", "/api/v1/cases/{id}/history", "/api/v1/cases/{id}/materials")


@pytest.mark.parametrize("who, district, sees", [
    ("supervisor_yz", "500103", True),        # the owning district's own supervisor
    ("supervisor_city", "500000", True),      # 市级 supervisors read every district
    ("supervisor_wz", "500101", False),       # another district's supervisor: as unknown as to its staff
])
def test_a_supervisor_reads_the_cases_of_their_own_district_only(app, client, deployed, who, district, sees):
    supervisor = caller(app, who, ("supervisor",), district)
    case_id = start_case(client, deployed["clerk"])["case_id"]
    for door in DOORS:
        answer = client.get(door.format(id=case_id), headers=supervisor.headers)
        if sees:
            assert answer.status_code == 200, (door, answer.get_json())
        else:
            assert_error(answer, 404, answer.get_json()["code"])
            assert answer.get_json()["code"] in ("NOT_FOUND", "CASE_NOT_FOUND"), door


def test_a_head_who_may_not_read_the_case_gets_404_from_its_history_not_500(app, client, deployed):
    head = caller(app, "head_sw", ("department_head",), "500103", "shuiwu")
    case_id = start_case(client, deployed["clerk"])["case_id"]
    assert_error(client.get(f"/api/v1/cases/{case_id}/history", headers=head.headers), 404, "CASE_NOT_FOUND")
    assert_error(client.get(f"/api/v1/cases/{case_id}", headers=head.headers), 404, "NOT_FOUND")
    # Once the clerk asks for an extension, the district's head is asked to decide it and reads the history.
    asked = client.post(f"/api/v1/cases/{case_id}/clocks/extension-requests", headers=deployed["clerk"].headers,
                        json={"days": 5, "reason": "需现场勘验"})
    assert asked.status_code == 201, asked.get_json()
    assert client.get(f"/api/v1/cases/{case_id}/history", headers=head.headers).status_code == 200
