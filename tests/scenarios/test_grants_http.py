"""Grants over HTTP: only admins delegate; supervisors and auditors read; bad grants are 422/404."""
from __future__ import annotations

from app.runtime import get_engine

from .conftest import Caller
from .test_http_api import assert_error, deployed  # noqa: F401 (fixture)

CODE = "11500103MB1D25937B4000117001"


def caller(app, username: str, role: str) -> Caller:
    identity = get_engine(app).identity
    identity.create_user(username, display_name=username, roles=(role,), district="500000")
    return Caller(username, {"Authorization": f"Bearer {identity.create_token(username)}"})


def test_admins_add_and_revoke_grants_others_may_only_read(app, client, deployed):
    admin, auditor = caller(app, "admin_city", "admin"), caller(app, "auditor_city", "auditor")
    body = {"matter_code": CODE, "owning_district": "500103", "receiving_district": "500114",
            "rights": ["receive", "formal_review", "verify_original"], "basis": "渝府办发〔2022〕25号"}
    assert_error(client.post("/api/v1/grants", json=body, headers=deployed["clerk"].headers), 403, "FORBIDDEN")
    created = client.post("/api/v1/grants", json=body, headers=admin.headers)
    assert created.status_code == 201, created.get_json()
    grant = created.get_json()
    assert grant["created_by"] == "admin_city" and grant["valid_from"] == "2026-11-23" and not grant["revoked"]
    assert (grant["in_force"], grant["expired"]) == (True, False)
    old = client.post("/api/v1/grants", json={**body, "valid_from": "2026-01-01", "valid_to": "2026-02-01"},
                      headers=admin.headers).get_json()
    every = client.get("/api/v1/grants", query_string={"include_revoked": "true"}, headers=auditor.headers)
    assert [(g["id"], g["in_force"], g["expired"]) for g in every.get_json()] == [
        (grant["id"], True, False), (old["id"], False, True)]
    listed = client.get("/api/v1/grants", query_string={"district": "500114"}, headers=auditor.headers)
    assert [g["id"] for g in listed.get_json()] == [grant["id"]]
    assert_error(client.post("/api/v1/grants", json={**body, "rights": ["approve_everything"]},
                             headers=admin.headers), 422, "INVALID_INPUT")
    assert_error(client.post("/api/v1/grants", json={**body, "matter_code": "NOPE"}, headers=admin.headers),
                 404, "NOT_FOUND")
    revoked = client.post(f"/api/v1/grants/{grant['id']}/revoke", json={"reason": "试点结束"}, headers=admin.headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert client.get("/api/v1/grants", headers=auditor.headers).get_json() == []


def test_an_unknown_district_is_refused_as_the_user_and_metrics_lists_refuse_it(app, client, deployed):
    auditor = caller(app, "auditor_city", "auditor")
    body = assert_error(client.get("/api/v1/grants", query_string={"district": "999999"}, headers=auditor.headers),
                        422, "UNKNOWN_DISTRICT")
    assert body["details"] == {"district": "999999"}
    known = client.get("/api/v1/grants", query_string={"district": "500114"}, headers=auditor.headers)
    assert known.status_code == 200 and known.get_json() == []
