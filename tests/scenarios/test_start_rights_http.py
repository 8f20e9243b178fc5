"""Who may start a case with ``POST /api/v1/cases``, for which districts; every refusal writes nothing.

A person starts cases at their own window: the receiving district (收件地) is theirs, never one they name;
a case owned by another district names its matter, so that district's ``receive`` grant is checked.
"""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.runtime import get_engine
from engine.persistence.models import Case

from .test_http_api import assert_error, deployed  # noqa: F401 - fixture
from .test_masking_http import caller

CODE = "11500103MB1D25937B4000117001"  # 建筑工程施工许可证核发, offered in 渝中 (500103), not in 万州 (500101)


def cases(app: Any) -> int:
    with get_engine(app).database.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Case))


def post(client: Any, who: Any, **body: Any) -> Any:
    return client.post("/api/v1/cases", headers=who.headers, json={"data": {"applicant": "张三"}, **body})


@pytest.mark.parametrize("role", ["auditor", "designer", "supervisor", "admin"])
def test_only_staff_who_handle_cases_may_start_one(app, client, deployed, role):  # noqa: F811
    who = caller(app, f"{role}_yz", (role,), "500103", None)
    body = assert_error(post(client, who, process_key="parallel_approval"), 403, "START_FORBIDDEN")
    assert body["details"]["roles"] == [role]
    assert cases(app) == 0


def test_the_receiving_district_is_the_callers_own_and_cannot_be_named(app, client, deployed):  # noqa: F811
    outsider = deployed["outsider"]  # 万州 window
    for body in ({"process_key": "parallel_approval", "owning_district": "500103", "receiving_district": "500103"},
                 {"matter_code": CODE, "owning_district": "500103", "receiving_district": "500103"}):
        refused = assert_error(post(client, outsider, **body), 403, "RECEIVING_DISTRICT_FORBIDDEN")
        assert refused["details"] == {"receiving_district": "500103", "district": "500101"}
    assert cases(app) == 0
    # Naming one's own district is the same as leaving it out.
    started = post(client, deployed["clerk"], process_key="parallel_approval", receiving_district="500103")
    assert started.status_code == 201, started.get_data(as_text=True)


def test_a_case_for_another_district_names_its_matter_so_the_grant_is_checked(app, client, deployed):  # noqa: F811
    outsider = deployed["outsider"]
    assert_error(post(client, outsider, process_key="parallel_approval", owning_district="500103"),
                 403, "CROSS_DISTRICT_NEEDS_MATTER")
    assert_error(post(client, outsider, matter_code=CODE, owning_district="500103"), 403, "GRANT_MISSING")
    assert cases(app) == 0


def test_an_unknown_owning_district_is_refused_not_stuck_in_nobodys_inbox(app, client, deployed):  # noqa: F811
    body = assert_error(post(client, deployed["clerk"], process_key="parallel_approval", owning_district="999999"),
                        422, "UNKNOWN_DISTRICT")
    assert body["details"] == {"district": "999999"}
    assert cases(app) == 0
