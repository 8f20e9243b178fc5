"""An intake (收件) naming an owning district (业务属地) that does not exist, or is no district code, over HTTP.

``POST /api/v1/applications`` answers as ``POST /api/v1/cases`` does for a district that must exist
(``engine.identifiers.DISTRICT_CODE_SHAPE_PATTERN``): a code of a district's shape the organisation lacks is 422
``UNKNOWN_DISTRICT``, anything else 422 ``INVALID_INPUT``; nothing is written.
"""
from __future__ import annotations

import io
import json

import pytest

from tests.handoff_helpers import CODE

from .test_handoff_http import deploy, people
from .test_http_api import assert_error, inbox

PDF = b"%PDF-1.7\n%intake district\n"


def application(owning: str) -> dict:
    return {"application": json.dumps({
        "matter_code": CODE, "owning_district": owning, "contact_phone": "023-79221234",
        "applicant": {"kind": "legal", "name": "黔江某食品有限公司", "id_number": "91500103MA5U1234XJ",
                      "legal_representative": "王五"},
        "form": {"department": "zhujian"},
        "materials": {"business_license": {"license_ref": "LIC-500114-2026-0009"}}}, ensure_ascii=False),
        **{f"material.{key}": (io.BytesIO(PDF + key.encode()), f"{key}.pdf")
           for key in ("application_form", "drainage_plan", "water_quality_report")}}


@pytest.mark.parametrize("owning, status, code", [
    ("510104", 422, "UNKNOWN_DISTRICT"),     # 成都 锦江区: a county code's shape, no district here
    ("500199", 422, "UNKNOWN_DISTRICT"),     # 重庆's shape, no such district
    ("abc", 422, "INVALID_INPUT"),           # no district code at all
    ("５００１０３", 422, "INVALID_INPUT"),    # full-width digits
])
def test_an_intake_for_an_unknown_or_malformed_owning_district_is_refused_as_such(app, client, cast, owning, status,
                                                                                 code):
    """The 黔江 window names a 业务属地 that is not a district here: the answer names that fault
    (``UNKNOWN_DISTRICT``, or ``INVALID_INPUT`` for no district code at all), not ``MATTER_NOT_OFFERED``
    「事项…未在本区县（abc）提供」, which blamed the matter and called the code 本区县; nothing is written.
    """
    deploy(client, cast["designer"])
    qj = people(app)["window_qj"]
    refused = client.post("/api/v1/applications", headers=qj.headers, data=application(owning),
                          content_type="multipart/form-data")
    body = assert_error(refused, status, code)
    assert "本区县" not in body["message"]
    if code == "UNKNOWN_DISTRICT":
        assert body["details"] == {"district": owning}
    else:
        assert list(body["details"]["fields"]) == ["owning_district"]
    assert inbox(client, qj)["items"] == []
