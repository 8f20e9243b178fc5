"""Staff reading a case's materials over HTTP on both databases: who may, integrity, 电子证照, the access log.

The 渝中 window receives an application with four uploaded files and one 电子证照; the rule of who may read them
is the case's own (``GET /api/v1/cases/<id>``), so every check below compares the two answers as well.
"""
from __future__ import annotations

import hashlib
import io
import json
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.runtime import get_engine
from engine import CompleteTask, NotFound
from tests.helpers import deploy_shipped
from tests.scenarios.test_online_http import APPLICATION as ONLINE, FILES as ONLINE_FILES

CODE = "11500103MB1D25937B4000117001"
PDF = b"%PDF-1.7\n%materials test\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FILES = {"application_form": (PDF, "建筑工程施工许可证申请表.pdf"), "drawing_review": (PNG, "审查合格书.png"),
         "bid_notice": (PDF + b"bid", "中标通知书.pdf"), "funding_proof": (PDF + b"fund", "承诺书.pdf")}
APPLICATION = {
    "matter_code": CODE, "contact_phone": "023-63891234", "form": {"project": "某小区 1 号楼"},
    "applicant": {"kind": "legal", "name": "重庆某建设有限公司", "id_number": "91500103MA5U1234XJ",
                  "legal_representative": "王五"},
    "materials": {"land_certificate": {"license_ref": "LIC-500103-2026-0001"},
                  "funding_proof": {"original_verified": True}},
}
PEOPLE = {  # username: display name, roles, district, department
    "window_yz": ("渝中窗口", ("window_clerk",), "500103", "zwzx"),
    "window_yz2": ("渝中窗口二", ("window_clerk",), "500103", "zwzx"),
    "reviewer_zj": ("渝中住建审查", ("reviewer",), "500103", "zhujian"),
    "reviewer_wzj": ("万州住建审查", ("reviewer",), "500101", "zhujian"),
    "window_wz": ("万州窗口", ("window_clerk",), "500101", "zwzx"),
    "auditor": ("审计员", ("auditor",), "500000", None),
}


@pytest.fixture
def app(database_url, clock, tmp_path):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials"),
                              "TONGBAN_ARCHIVES_DIR": str(tmp_path / "archives")})
    engine = get_engine(application)
    for username, (name, roles, district, department) in PEOPLE.items():
        engine.identity.create_user(username, display_name=name, roles=roles, district=district,
                                    department=department)
    engine.applicant_accounts.add("zhangsan", name="张三", id_type="111", id_number="500103199001011232",
                                  verified_by="window_yz")
    deploy_shipped(engine)
    yield application
    engine.close()


@pytest.fixture
def headers(app) -> dict[str, dict[str, str]]:
    identity = get_engine(app).identity
    return {user: {"Authorization": f"Bearer {identity.create_token(user)}"} for user in [*PEOPLE, "zhangsan"]}


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def received(client, headers) -> dict[str, Any]:
    """The 渝中 window received the application: four files and one 电子证照."""
    return receive(client, headers)


def receive(client, headers) -> dict[str, Any]:
    """POST the application with its files as the 渝中 window; return the intake's answer."""
    data: dict[str, Any] = {"application": json.dumps(APPLICATION, ensure_ascii=False)}
    data.update({f"material.{key}": (io.BytesIO(content), name) for key, (content, name) in FILES.items()})
    response = client.post("/api/v1/applications", headers=headers["window_yz"], data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def file_url(case_id: int, key: str) -> str:
    return f"/api/v1/cases/{case_id}/materials/{key}/file"


def fetch(client, path: str, headers: dict[str, str] | None = None) -> Any:
    """GET ``path``, read the body and close the response (a served file is a stream to close)."""
    with client.get(path, headers=headers or {}) as response:
        response.get_data()
    return response


def access_log(app) -> list[Any]:
    with get_engine(app).database.engine.connect() as conn:
        return conn.execute(text("SELECT actor, case_id, resource, sha256, outcome FROM access_log ORDER BY id")).all()


def test_the_receiving_clerk_lists_the_materials_in_catalog_order_with_hashes_and_verification(
        client, headers, received):
    response = client.get(f"/api/v1/cases/{received['case_id']}/materials", headers=headers["window_yz"])
    assert response.status_code == 200, response.get_json()
    items = {m["key"]: m for m in response.get_json()}
    assert list(items) == ["application_form", "land_certificate", "drawing_review", "bid_notice", "funding_proof"]
    form = items["application_form"]
    assert (form["name"], form["kind"], form["filename"]) == ("建筑工程施工许可证申请表", "file",
                                                              "建筑工程施工许可证申请表.pdf")
    assert (form["size"], form["media_type"], form["sha256"]) == (len(PDF), "application/pdf",
                                                                  hashlib.sha256(PDF).hexdigest())
    assert form["download_url"] == file_url(received["case_id"], "application_form")
    assert items["funding_proof"]["verified_by"] == "window_yz" and items["funding_proof"]["verified_at"]
    assert items["application_form"]["verified_by"] is None
    licence = items["land_certificate"]
    assert (licence["kind"], licence["license_ref"], licence["sha256"], licence["download_url"]) == (
        "license", "LIC-500103-2026-0001", None, None)


def test_a_download_sends_the_stored_bytes_with_its_type_name_etag_and_nosniff_and_is_logged(
        app, client, headers, received):
    response = fetch(client, file_url(received["case_id"], "application_form"), headers=headers["window_yz"])
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("建筑工程施工许可证申请表.pdf") in disposition
    assert "no-store" in response.headers["Cache-Control"] and int(response.headers["Content-Length"]) == len(PDF)
    png = fetch(client, file_url(received["case_id"], "drawing_review"), headers=headers["window_yz"])
    assert png.data == PNG and png.mimetype == "image/png"
    # A conditional request is still served and logged: the ETag names the content, it does not skip the log.
    again = fetch(client, file_url(received["case_id"], "drawing_review"), headers={
        **headers["window_yz"], "If-None-Match": png.headers["ETag"]})
    assert again.status_code == 200 and again.data == PNG
    assert access_log(app) == [
        ("window_yz", received["case_id"], "application_form", hashlib.sha256(PDF).hexdigest(), "served"),
        ("window_yz", received["case_id"], "drawing_review", hashlib.sha256(PNG).hexdigest(), "served"),
        ("window_yz", received["case_id"], "drawing_review", hashlib.sha256(PNG).hexdigest(), "served")]
    # Reads are not case events: the hash chain is untouched.
    assert not [e for e in get_engine(app).queries.events(received["case_id"]) if "aterial" in e.event_type
                and "Download" in e.event_type]


@pytest.mark.parametrize("user, allowed", [
    ("window_yz", True),        # received it (started_by)
    ("window_yz2", True),       # same window: the 受理 task is their group's
    ("auditor", True),          # auditors see every case
    ("reviewer_zj", False),     # right district, but no task of theirs yet (before 受理)
    ("window_wz", False),       # another district's window
    ("reviewer_wzj", False),    # another district's 住建 reviewer
])
def test_exactly_those_who_see_the_case_read_its_materials_and_the_others_get_not_found(
        app, client, headers, received, user, allowed):
    case_id = received["case_id"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=headers[user])
    listing = client.get(f"/api/v1/cases/{case_id}/materials", headers=headers[user])
    download = fetch(client, file_url(case_id, "application_form"), headers=headers[user])
    assert case.status_code == listing.status_code == download.status_code == (200 if allowed else 404)
    if not allowed:
        for refused in (listing, download):
            assert refused.get_json()["code"] == "NOT_FOUND" and PDF not in refused.data
        missing_case = fetch(client, file_url(case_id + 999, "application_form"), headers=headers[user])
        assert missing_case.get_json() == download.get_json() | {"details": {"case_id": case_id + 999}}
    assert [row.actor for row in access_log(app)] == ([user] if allowed else [])


def test_a_reviewer_reads_the_materials_once_the_case_reaches_their_department(app, client, headers, received):
    engine = get_engine(app)
    case_id = received["case_id"]
    assert client.get(f"/api/v1/cases/{case_id}/materials", headers=headers["reviewer_zj"]).status_code == 404
    (accept,) = [t for t in engine.queries.tasks(engine.identity.actor_for_username("window_yz")).items
                 if t["case_id"] == case_id]
    engine.handle(CompleteTask(accept["id"], engine.identity.actor_for_username("window_yz"),
                               {"decision": "accept", "opinion": "材料齐全", "materials_complete": True}))
    assert fetch(client, file_url(case_id, "bid_notice"), headers=headers["reviewer_zj"]).data == PDF + b"bid"
    assert fetch(client, file_url(case_id, "bid_notice"), headers=headers["reviewer_wzj"]).status_code == 404


def test_anonymous_callers_and_applicant_accounts_are_kept_out(app, client, headers, received):
    case_id = received["case_id"]
    assert client.get(f"/api/v1/cases/{case_id}/materials").status_code == 401
    assert fetch(client, file_url(case_id, "application_form")).status_code == 401
    # The applicant's own online case: the applicant wall answers before the view, and the engine refuses too.
    data: dict[str, Any] = {"application": json.dumps(ONLINE, ensure_ascii=False)}
    data.update({f"material.{k}": (io.BytesIO(v), f"{k}.pdf") for k, v in ONLINE_FILES.items()})
    own = client.post("/api/v1/online/applications", headers=headers["zhangsan"], data=data,
                      content_type="multipart/form-data")
    assert own.status_code == 201, own.get_json()
    own_id = own.get_json()["case_id"]
    for path in (f"/api/v1/cases/{own_id}/materials", file_url(own_id, "application_form"),
                 file_url(case_id, "application_form"), "/api/v1/access-log"):
        refused = fetch(client, path, headers=headers["zhangsan"])
        assert refused.status_code == 403 and refused.get_json()["code"] == "STAFF_ONLY", path
    engine = get_engine(app)
    with pytest.raises(NotFound):
        engine.materials.open(engine.identity.actor_for_username("zhangsan"), own_id, "application_form")
    assert access_log(app) == []


def test_a_file_changed_on_disk_is_refused_as_corrupted_and_the_attempt_is_logged(app, client, headers, received):
    store = get_engine(app).services.materials
    digest = hashlib.sha256(PDF).hexdigest()
    store.path_of(digest).write_bytes(PDF.replace(b"materials", b"tampered!"))
    response = fetch(client, file_url(received["case_id"], "application_form"), headers=headers["window_yz"])
    assert response.status_code == 409 and PDF[:8] not in response.data
    body = response.get_json()
    assert body["code"] == "MATERIAL_CORRUPTED" and "SHA-256" in body["message"]
    assert body["details"] == {"material": "application_form", "sha256": digest}
    store.path_of(digest).unlink()
    gone = fetch(client, file_url(received["case_id"], "application_form"), headers=headers["window_yz"])
    assert gone.status_code == 409 and gone.get_json()["code"] == "MATERIAL_MISSING"
    assert [(r.resource, r.outcome) for r in access_log(app)] == [("application_form", "corrupted"),
                                                                  ("application_form", "missing")]


def test_a_license_reference_has_no_file_and_an_unknown_key_is_not_found(app, client, headers, received):
    licence = fetch(client, file_url(received["case_id"], "land_certificate"), headers=headers["window_yz"])
    assert licence.status_code == 409
    assert licence.get_json()["code"] == "MATERIAL_NOT_A_FILE" and "LIC-500103-2026-0001" in \
        licence.get_json()["message"]
    unknown = fetch(client, file_url(received["case_id"], "no_such_material"), headers=headers["window_yz"])
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "NOT_FOUND"
    assert access_log(app) == []


def test_auditors_read_the_access_log_over_the_api_and_the_cli_and_nobody_can_rewrite_it(
        app, client, headers, received, database_url):
    case_id, case_no = received["case_id"], received["case_no"]
    fetch(client, file_url(case_id, "application_form"), headers=headers["window_yz"])
    fetch(client, file_url(case_id, "funding_proof"), headers=headers["auditor"])
    listed = client.get(f"/api/v1/access-log?case={case_no}", headers=headers["auditor"])
    assert listed.status_code == 200, listed.get_json()
    assert [(e["actor"], e["resource"], e["outcome"], e["case_no"]) for e in listed.get_json()] == [
        ("auditor", "funding_proof", "served", case_no), ("window_yz", "application_form", "served", case_no)]
    mine = client.get("/api/v1/access-log?actor=window_yz&limit=5", headers=headers["auditor"]).get_json()
    assert [e["resource"] for e in mine] == ["application_form"]
    assert client.get(f"/api/v1/access-log?case={case_id}", headers=headers["window_yz"]).status_code == 403
    assert client.get("/api/v1/access-log?limit=0", headers=headers["auditor"]).status_code == 422
    result = app.test_cli_runner().invoke(args=["audit", "access", "--case", case_no])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "auditor" in lines[0] and "funding_proof" in lines[0] and "已下载" in lines[0]
    assert "window_yz" in lines[1] and case_no in lines[1] and lines[-1] == "共 2 条查阅记录"
    as_json = app.test_cli_runner().invoke(args=["audit", "access", "--actor", "auditor", "--json"])
    page = json.loads(as_json.output)
    assert [e["resource"] for e in page["items"]] == ["funding_proof"] and page["next_cursor"] is None
    with get_engine(app).database.engine.connect() as conn:
        for statement in ("UPDATE access_log SET actor = 'someone_else'", "DELETE FROM access_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                with conn.begin():
                    conn.execute(text(statement))
    assert len(access_log(app)) == 2
