"""``POST /api/v1/cases`` refuses start data presetting what the process fills in itself, writing nothing.

A clerk who started 工改 with ``design_opinions`` (the 设计方案会审's collected votes) wedged the case, as an
online applicant could before intake refused such keys. The start is refused like the application:
422 ``APPLICATION_INVALID``, ``details.fields`` mapping each ``data.<key>`` to the reason.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.runtime import get_engine
from engine.intake_checks import PROCESS_FIELD
from engine.persistence.models import Case

from .test_gongcheng import clock, people  # noqa: F401 - fixtures
from .test_http_api import assert_error

PROJECT = {"project_name": "渝中区某综合楼", "project_category": "small_social"}
GONGCHENG = "GC500000-LHBL-0001"


def cases(app: Any) -> int:
    with get_engine(app).database.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Case))


def start(client: Any, people: Any, **body: Any) -> Any:  # noqa: F811
    return client.post("/api/v1/cases", headers=people["clerk"].headers, json=body)


def test_a_preset_of_the_meeting_votes_is_refused_and_nothing_starts(app, client, people):  # noqa: F811
    refused = assert_error(start(client, people, process_key="gongcheng",
                                 data={**PROJECT, "design_opinions": ["approve", "approve"]}),
                           422, "APPLICATION_INVALID")
    assert refused["details"]["fields"] == {"data.design_opinions": [PROCESS_FIELD]}
    assert "design_opinions" in refused["message"]
    assert cases(app) == 0


def test_every_such_key_is_named_at_once_by_process_or_by_matter(app, client, people):  # noqa: F811
    data = {**PROJECT, "s1_join": "ANY", "accept_note": "已受理", "target_workdays": 1}
    for body in ({"process_key": "gongcheng"}, {"matter_code": GONGCHENG}):
        refused = assert_error(start(client, people, data=data, **body), 422, "APPLICATION_INVALID")
        assert refused["details"]["fields"] == {f"data.{key}": [PROCESS_FIELD]
                                                for key in ("accept_note", "s1_join", "target_workdays")}
    assert cases(app) == 0


def test_what_the_process_only_reads_still_starts_the_case(app, client, people):  # noqa: F811
    started = start(client, people, process_key="gongcheng", data={**PROJECT, "subject": "综合楼报建"})
    assert started.status_code == 201, started.get_data(as_text=True)
    assert started.get_json()["status"] == "running" and cases(app) == 1
