"""异地代收代办 over HTTP as the users of both districts.

window_qj (黔江) receives 渝中's 污水排入排水管网许可 under a grant, verifies identity and originals, finds a
material missing and gives the one-time notice (一次性告知) at the window, receives the correction, reviews
the form again and hands the case over; 渝中's window accepts on arrival, reviewer_yz reviews, the head decides
and the licence is issued; the result comes back and window_qj delivers it by post. Both cases close.
"""
from __future__ import annotations

import io
import json
from typing import Any

from app.runtime import get_engine
from engine import MessageWorker

from .conftest import Caller
from .test_http_api import assert_error, inbox, upload
from tests.conftest import ROOT
from tests.handoff_helpers import (
    ARRIVED, CODE, COMPLETE, CORRECTED, DELIVERED, GRANTED, HANDOFF, IDENTITY, INCOMPLETE, LICENSE, NOTICE,
    ORIGINALS, REVIEWED,
)
from tests.goldens import record_golden

PDF = b"%PDF-1.7\n%handoff scenario\n"
PEOPLE = {"window_qj": (("window_clerk",), "500114", "zwzx"), "window_yz2": (("window_clerk",), "500103", "zwzx"),
          "reviewer_yz": (("reviewer",), "500103", "zhujian"),
          "head_yz": (("department_head", "reviewer"), "500103", "zhujian"),
          "admin": (("admin",), "500000", "dsj")}


def people(app) -> dict[str, Caller]:
    identity = get_engine(app).identity
    out = {}
    for name, (roles, district, department) in PEOPLE.items():
        identity.create_user(name, display_name=name, roles=roles, district=district, department=department)
        out[name] = Caller(name, {"Authorization": f"Bearer {identity.create_token(name)}"})
    return out


def act(client, caller: Caller, case_id: int, element_id: str, data: dict[str, Any], status: int = 200) -> Any:
    [task] = [t for t in inbox(client, caller)["items"] if t["case_id"] == case_id and t["element_id"] == element_id]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=caller.headers).status_code == 200
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=caller.headers)
    assert response.status_code == status, response.get_json()
    return response


def deploy(client, designer: Caller) -> None:
    """The designer deploys the standard permit, its catalog and the collaboration through the API."""
    folders = [ROOT / "processes" / name for name in ("standard_permit", "yidi_daiban")]
    files = [(f"{p.parent.name}.{p.name}", p.read_bytes()) for folder in folders for p in sorted(folder.iterdir()) if p.is_file()]
    files += [(p.name, p.read_bytes()) for p in sorted((ROOT / "forms").glob("*.form"))]
    response = upload(client, designer, files)
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_qianjiang_window_receives_for_yuzhong_and_delivers_the_result(app, client, cast):
    deploy(client, cast["designer"])
    who = people(app)
    qj, yz, reviewer, head, admin = (who[k] for k in ("window_qj", "window_yz2", "reviewer_yz", "head_yz", "admin"))
    application = {"matter_code": CODE, "owning_district": "500103", "contact_phone": "023-79221234",
                   "applicant": {"kind": "legal", "name": "黔江某食品有限公司", "id_number": "91500103MA5U1234XJ",
                                 "legal_representative": "王五"},
                   "form": {"department": "zhujian"},
                   "materials": {"business_license": {"license_ref": "LIC-500114-2026-0009"}}}
    files = {"application_form": PDF + b"a", "drainage_plan": PDF + b"d", "water_quality_report": PDF + b"w"}

    def post() -> Any:
        data = {"application": json.dumps(application, ensure_ascii=False)}
        data.update({f"material.{k}": (io.BytesIO(v), f"{k}.pdf") for k, v in files.items()})
        return client.post("/api/v1/applications", headers=qj.headers, data=data, content_type="multipart/form-data")
    assert_error(post(), 403, "GRANT_MISSING")
    grant = {"matter_code": CODE, "owning_district": "500103", "receiving_district": "500114",
             "rights": ["receive", "formal_review", "verify_original", "notify", "deliver"]}
    assert client.post("/api/v1/grants", json=grant, headers=admin.headers).status_code == 201
    received = post()
    assert received.status_code == 201, received.get_json()
    mine = received.get_json()["case_id"]

    act(client, qj, mine, "verify_identity", IDENTITY)
    act(client, qj, mine, "verify_original", ORIGINALS)
    act(client, qj, mine, "formal_review", INCOMPLETE)
    act(client, qj, mine, "notify", NOTICE)                  # 一次性告知 at the receiving window
    act(client, qj, mine, "receive_correction", CORRECTED)
    act(client, qj, mine, "formal_review", COMPLETE)
    act(client, qj, mine, "handoff", HANDOFF)
    assert not [t for t in inbox(client, yz)["items"] if t["element_id"] == "confirm_arrival"]

    worker = MessageWorker(get_engine(app))
    assert worker.sweep().delivered == 1
    partner = client.get(f"/api/v1/cases/{mine}", headers=qj.headers).get_json()["partners"][0]
    theirs = partner["case_id"]
    assert (partner["role"], partner["open_tasks"]) == ("owning", ["到件受理"])
    owning_view = client.get(f"/api/v1/cases/{theirs}", headers=qj.headers)
    assert owning_view.status_code == 200                     # 黔江 sees 渝中's side ...
    [arrival] = [t for t in owning_view.get_json()["tasks"] if t["element_id"] == "confirm_arrival"]
    assert_error(client.post(f"/api/v1/tasks/{arrival['id']}/claim", headers=qj.headers), 404, "NOT_FOUND")
    act(client, yz, theirs, "confirm_arrival", ARRIVED)      # ... but only 渝中 acts on it
    act(client, reviewer, theirs, "review", REVIEWED)
    act(client, head, theirs, "decide", GRANTED)
    act(client, reviewer, theirs, "issue_license", LICENSE)
    assert worker.sweep().delivered == 1

    [deliver] = [t for t in inbox(client, qj)["items"] if t["case_id"] == mine]
    assert deliver["element_id"] == "deliver"
    act(client, qj, mine, "deliver", DELIVERED)
    for case_id, caller in ((mine, yz), (theirs, qj)):
        view = client.get(f"/api/v1/cases/{case_id}", headers=caller.headers).get_json()
        assert view["status"] == "completed", view
    owning = client.get(f"/api/v1/cases/{theirs}", headers=head.headers).get_json()
    assert [c["kind"] for c in owning["clocks"]] == ["legal", "committed"]
    listed = client.get("/api/v1/messages", headers=admin.headers).get_json()
    assert [m["state"] for m in listed] == ["delivered", "delivered"]
    assert_error(client.get("/api/v1/messages", headers=qj.headers), 403, "FORBIDDEN")
    record_golden("yidi_shoujian_receiving_leg", app, mine)
    record_golden("yidi_banli_owning_leg", app, theirs)
