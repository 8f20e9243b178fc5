"""The matter catalog over HTTP: search, district filter, one entry with versions, upload of a catalog."""
from __future__ import annotations

import io

from tests.conftest import ROOT

from .test_http_api import assert_error, deployed, upload  # noqa: F401 (fixture)

CODE = "11500103MB1D25937B4000117001"
CATALOG = ROOT / "processes" / "parallel_approval" / "matters.yaml"


def test_clerks_search_the_catalog_and_see_the_limits_of_their_district(client, deployed):
    clerk, outsider = deployed["clerk"], deployed["outsider"]
    listed = client.get("/api/v1/matters", query_string={"q": "施工许可", "district": "mine"}, headers=clerk.headers)
    assert listed.status_code == 200
    (matter,) = listed.get_json()
    assert matter["code"] == CODE and matter["committed_limit"] == {"amount": 7, "unit": "workday"}
    assert matter["window"] == "渝中区政务服务中心 3 号窗口"
    assert client.get("/api/v1/matters", query_string={"district": "mine"}, headers=outsider.headers).get_json() == []
    detail = client.get(f"/api/v1/matters/{CODE}", headers=outsider.headers).get_json()
    assert detail["committed_limit"]["amount"] == 10 and [v["version"] for v in detail["versions"]] == [1]
    assert {m["key"] for m in detail["materials"]} >= {"application_form", "bid_notice"}
    assert_error(client.get("/api/v1/matters/NOPE", headers=clerk.headers), 404, "NOT_FOUND")
    assert_error(client.get("/api/v1/matters", query_string={"limit": 0}, headers=clerk.headers), 422,
                 "INVALID_INPUT")
    assert client.get("/api/v1/matters").status_code == 401


def test_a_designer_uploads_a_changed_catalog_and_a_bad_one_is_refused_with_its_line(client, deployed):
    designer = deployed["designer"]
    changed = CATALOG.read_bytes().replace("中标通知书".encode(), "中标通知书（或直接发包批复）".encode())
    response = client.post("/api/v1/definitions", headers=designer.headers, content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(changed), "matters.yaml")]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == [{"kind": "matter", "key": CODE, "version": 2, "status": "created",
                                    "content_hash": response.get_json()[0]["content_hash"], "latest_version": 2,
                                    "message": "已部署为第 2 版"}]
    bad = CATALOG.read_bytes().replace(b"amount: 10, unit: workday", b"amount: 25, unit: workday")
    refused = client.post("/api/v1/definitions", headers=designer.headers, content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(bad), "matters.yaml")]})
    body = assert_error(refused, 422, "DEFINITION_REJECTED")
    (finding,) = body["details"]["findings"]
    assert (finding["file"], finding["line"], finding["code"]) == ("matters.yaml", 11, "TB_CATALOG_LIMIT")
    assert "承诺时限（25 个工作日）不能长于法定时限（20 个工作日）" in body["message"]


def test_a_matter_whose_committed_limit_is_set_per_project_category_lists_the_figures_of_today(client, deployed):
    """工改 (F11): the catalog's placeholder is gone; each category's 承诺时限 in force today, described in OpenAPI."""
    folder = ROOT / "processes" / "gongcheng"
    uploaded = upload(client, deployed["designer"], [(p.name, p.read_bytes()) for p in (
        folder / "main.bpmn", folder / "matters.yaml", *sorted((ROOT / "forms").glob("gc_*.form")))])
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    detail = client.get("/api/v1/matters/GC500000-LHBL-0001", headers=deployed["clerk"].headers).get_json()
    limit = detail["committed_limit"]
    assert (limit["by"], limit["unit"], limit["as_of"]) == ("project_category", "workday", "2026-11-23")
    assert "amount" not in limit
    assert [(c["category"], c["name"], c["workdays"], c["from"]) for c in limit["categories"]] == [
        ("social", "一般社会投资项目", 50, "2020-01-01"), ("government", "政府投资项目", 80, "2020-01-01"),
        ("small_social", "小型社会投资项目", 35, "2020-01-01"), ("with_plan", "带方案出让用地项目", 20, "2020-01-01"),
        ("industrial", "一般工业项目", 15, "2020-01-01")]
    listed = client.get("/api/v1/matters", query_string={"q": "工程建设项目"}, headers=deployed["clerk"].headers)
    assert [m["committed_limit"] for m in listed.get_json()] == [limit]
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert set(schemas["CommittedLimit"]["properties"]) == {"amount", "unit", "by", "as_of", "categories"}
    assert set(schemas["CategoryLimit"]["properties"]) == {"category", "name", "workdays", "from"}
    refs = {ref for ref in _refs(spec) if ref.startswith("#/components/schemas/")}
    assert {ref.rsplit("/", 1)[-1] for ref in refs} <= set(schemas)     # every reference resolves


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)
