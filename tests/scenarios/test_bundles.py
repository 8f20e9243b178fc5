"""一件事 bundles over HTTP on the manual clock: 企业开办 and 不动产交易登记, one case with a subprocess per matter.

T0 is Monday 2026-03-02 09:30 (no holiday near). 企业开办 has a committed limit of 3 working days from 收件
(due 03-05); every sub-task has its own budget of 1 working day (due at the end of the next working day).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from app.runtime import get_engine
from engine import CST, ManualClock, ensure_calendar_seeded, is_bundle_file, is_catalog_file

from .conftest import Caller
from .test_http_api import ACCEPT, assert_error, complete, get_case, inbox, only_task, upload
from tests.conftest import ROOT
from tests.pages_helpers import PASSWORD, csrf_of, login
from tests.goldens import record_golden

PEOPLE = {
    "clerk": ("window_yz", ("window_clerk",), "zwzx"),
    "shichang": ("reviewer_sc", ("reviewer",), "shichang"),
    "gongan": ("reviewer_ga", ("reviewer",), "gongan"),
    "shuiwu": ("reviewer_sw", ("reviewer",), "shuiwu"),
    "renshe": ("reviewer_rs", ("reviewer",), "renshe"),
    "zhujian": ("reviewer_zj", ("reviewer",), "zhujian"),
    "guihua": ("reviewer_gh", ("reviewer",), "guihua"),
    "designer": ("designer", ("designer",), "dsj"),
}
APPLICATION = {
    "company_name": "重庆渝通科技有限公司", "company_type": "llc", "registered_capital": 100,
    "business_scope": "软件开发；信息技术咨询服务", "address": "重庆市渝中区解放碑街道民族路 1 号",
    "legal_rep_name": "张三", "legal_rep_id_number": "500103198506120317", "contact_phone": "13800000000",
    "employee_count": 8, "seal_count": 3, "invoice_kind": "general",
    "materials": {"id_card": "CL-2026-0001", "premises": "CL-2026-0002", "articles": "CL-2026-0003"},
}
# What each department types itself; everything else comes from the application.
PARALLEL = {
    "gongan": ("seal_review", {"seal_outcome": "done", "filing_no": "GA-500103-0001"}),
    "shuiwu": ("invoice_review", {"invoice_outcome": "done", "ukey_issued": "issued"}),
    "renshe": ("social_review", {"social_outcome": "done", "social_insurance_no": "SB-500103-0001"}),
    "zhujian": ("fund_review", {"fund_outcome": "done", "fund_account_no": "GJJ-500103-0001"}),
}
DELIVERY = {"delivery_method": "window", "receipt_no": "SD-0001"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 30, tzinfo=CST))


@pytest.fixture
def people(app: Any, client: Any) -> dict[str, Caller]:
    """Window clerk and one reviewer per department of 渝中区, with the shipped definitions deployed."""
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    callers = {}
    for who, (username, roles, department) in PEOPLE.items():
        engine.identity.create_user(username, display_name=who, roles=roles, district="500103",
                                    department=department, password=PASSWORD)
        callers[who] = Caller(username, {"Authorization": f"Bearer {engine.identity.create_token(username)}"})
    files = [(str(p.relative_to(ROOT / "processes")), p.read_bytes())
             for p in sorted((ROOT / "processes").rglob("*"))
             if p.suffix == ".bpmn" or is_catalog_file(p.name) or is_bundle_file(p.name)]
    files += [(p.name, p.read_bytes()) for p in sorted((ROOT / "forms").glob("*.form"))]
    response = upload(client, callers["designer"], files)
    assert response.status_code == 201, response.get_data(as_text=True)
    return callers


def at(clock: ManualClock, day: int, hour: int = 9) -> None:
    clock.set(datetime(2026, 3, day, hour, 0, tzinfo=CST))


def start(client: Any, caller: Caller, process_key: str, data: dict[str, Any], title: str) -> int:
    response = client.post("/api/v1/cases", headers=caller.headers,
                           json={"process_key": process_key, "title": title, "data": data})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["case_id"]


def task_detail(client: Any, caller: Caller, task_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/tasks/{task_id}", headers=caller.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def done(client: Any, caller: Caller, task_id: int, data: dict[str, Any]) -> dict[str, Any]:
    response = complete(client, caller, task_id, data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def last_day(instant: str) -> str:
    """The last CST calendar day before a due instant (a due instant is the midnight after its last day)."""
    return (datetime.fromisoformat(instant).astimezone(CST) - timedelta(microseconds=1)).date().isoformat()


def progress(client: Any, caller: Caller, case_id: int) -> dict[str, str]:
    return {m["name"]: m["state"] for m in get_case(client, caller, case_id)["bundle"]["matters"]}


def open_kaiban(client: Any, people: dict[str, Caller]) -> tuple[int, int]:
    """Start 企业开办 and complete the licence; return the case id and the licence task id."""
    case_id = start(client, people["clerk"], "qiye_kaiban", APPLICATION, "重庆渝通科技有限公司 企业开办")
    license_task = only_task(client, people["shichang"], "license_review")
    done(client, people["shichang"], license_task["id"], {"license_outcome": "registered", "credit_code": "91500103MA5U8XYW1K", "opinion": "准予设立登记"})
    return case_id, license_task["id"]


def test_qiye_kaiban_runs_licence_first_then_four_departments_in_parallel_and_one_delivery(app, client, people, clock):
    clerk, shichang = people["clerk"], people["shichang"]
    case_id = start(client, clerk, "qiye_kaiban", APPLICATION, "重庆渝通科技有限公司 企业开办")
    case = get_case(client, clerk, case_id)
    committed = {c["kind"]: c for c in case["clocks"]}["committed"]
    assert (committed["t0"], committed["due_date"]) == ("2026-03-02", "2026-03-05")
    assert case["bundle"]["name"] == "企业开办“一件事”"
    assert progress(client, clerk, case_id) == {"营业执照": "running", "公章刻制备案": "waiting", "发票申领": "waiting",
                                                "社保登记": "waiting", "公积金登记": "waiting"}

    # 营业执照 first: only 市场监管 has a task, due at the end of the next working day.
    for who in PARALLEL:
        assert inbox(client, people[who])["items"] == [], who
    assert inbox(client, clerk)["items"] == []
    license_task = only_task(client, shichang, "license_review")
    assert license_task["candidate_groups"] == ["reviewer@500103/shichang"]
    assert last_day(license_task["due_at"]) == "2026-03-03"
    detail = task_detail(client, shichang, license_task["id"])
    assert detail["bundle"]["matter"] == "营业执照"
    assert detail["bundle"]["values"]["company_name"] == "重庆渝通科技有限公司"
    assert detail["bundle"]["values"]["materials.articles"] == "CL-2026-0003"
    assert [(m["key"], m["status"]) for m in detail["bundle"]["materials"]] == [
        ("id_card", "已收取"), ("premises", "已收取"), ("articles", "已收取")]

    # The licence form's required application fields and materials come from the bundle: not asked again.
    at(clock, 3, 10)
    assert_error(complete(client, shichang, license_task["id"], {"opinion": "准予设立登记"}), 422, "FORM_INVALID")
    refused = assert_error(complete(client, shichang, license_task["id"], {
        "credit_code": "91500103MA5U8XYW1K", "opinion": "准予", "materials": {"articles": "另一份章程"}}),
        422, "FORM_INVALID")
    assert "materials.articles" in refused["details"]["fields"]
    done(client, shichang, license_task["id"], {"license_outcome": "registered", "credit_code": "91500103MA5U8XYW1K", "opinion": "准予设立登记"})
    assert progress(client, clerk, case_id)["营业执照"] == "completed"

    # Then the four departments, each seeing only its own task, due at the end of 03-04.
    tasks = {}
    for who, (element, _data) in PARALLEL.items():
        task = only_task(client, people[who], element)
        assert task["candidate_groups"] == [f"reviewer@500103/{who}"]
        assert last_day(task["due_at"]) == "2026-03-04"
        tasks[who] = task
    assert inbox(client, shichang)["items"] == [] and inbox(client, clerk)["items"] == []
    seal = task_detail(client, people["gongan"], tasks["gongan"]["id"])["bundle"]
    assert seal["values"] == {"company_name": "重庆渝通科技有限公司", "legal_rep_name": "张三", "seal_count": 3,
                              "legal_rep_id": "CL-2026-0001"}
    assert progress(client, clerk, case_id) == {"营业执照": "completed", "公章刻制备案": "running",
                                                "发票申领": "running", "社保登记": "running", "公积金登记": "running"}
    at(clock, 4, 9)
    for who, (_element, data) in PARALLEL.items():
        done(client, people[who], tasks[who]["id"], data)
        assert get_case(client, clerk, case_id)["status"] == "running"

    # One delivery by the window, then the case closes within the 3 working days.
    at(clock, 4, 15)
    deliver = only_task(client, clerk, "deliver")
    assert last_day(deliver["due_at"]) == "2026-03-05"
    assert deliver["candidate_groups"] == ["window_clerk@500103"]
    assert all(inbox(client, people[who])["items"] == [] for who in PARALLEL)
    assert done(client, clerk, deliver["id"], DELIVERY)["status"] == "completed"
    final = get_case(client, clerk, case_id)
    assert final["status"] == "completed"
    assert datetime.fromisoformat(final["ended_at"]) < datetime(2026, 3, 6, tzinfo=CST)   # committed: end of 03-05
    assert set(progress(client, clerk, case_id).values()) == {"completed"}
    assert {t["element_id"]: t["completed_by"] for t in final["tasks"]} == {
        "license_review": "reviewer_sc", "seal_review": "reviewer_ga", "invoice_review": "reviewer_sw",
        "social_review": "reviewer_rs", "fund_review": "reviewer_zj", "deliver": "window_yz"}
    record_golden("qiye_kaiban_bundle", app, case_id)


def test_a_delayed_child_goes_yellow_then_red_and_the_bundle_stays_open_until_it_finishes(client, people, clock):
    clerk = people["clerk"]
    case_id, _ = open_kaiban(client, people)
    for who in ("gongan", "shuiwu", "renshe"):
        element, data = PARALLEL[who]
        done(client, people[who], only_task(client, people[who], element)["id"], data)
    assert progress(client, clerk, case_id)["公积金登记"] == "running"

    at(clock, 3, 10)                                          # one working day left: yellow
    fund = only_task(client, people["zhujian"], "fund_review")
    assert fund["light"] == "yellow"
    at(clock, 5, 10)                                          # past its due (end of 03-04): red
    fund = only_task(client, people["zhujian"], "fund_review")
    assert fund["light"] == "red"
    assert [t["element_id"] for t in inbox(client, people["zhujian"], light="red")["items"]] == ["fund_review"]
    case = get_case(client, clerk, case_id)
    assert case["status"] == "running" and case["ended_at"] is None
    assert inbox(client, clerk)["items"] == []                # no delivery while a child is open
    assert progress(client, clerk, case_id) == {"营业执照": "completed", "公章刻制备案": "completed",
                                                "发票申领": "completed", "社保登记": "completed", "公积金登记": "running"}

    at(clock, 6, 10)
    done(client, people["zhujian"], fund["id"], PARALLEL["zhujian"][1])
    assert progress(client, clerk, case_id)["公积金登记"] == "completed"
    assert get_case(client, clerk, case_id)["status"] == "running"
    assert {c["kind"]: c["light"] for c in get_case(client, clerk, case_id)["clocks"]}["committed"] == "red"
    done(client, clerk, only_task(client, clerk, "deliver")["id"], DELIVERY)
    assert get_case(client, clerk, case_id)["status"] == "completed"


def test_a_bundle_refuses_an_application_that_misses_a_field_of_the_one_form(client, people):
    data = {k: v for k, v in APPLICATION.items() if k != "company_name"}
    response = client.post("/api/v1/cases", headers=people["clerk"].headers,
                           json={"process_key": "qiye_kaiban", "title": "缺字段", "data": data})
    body = assert_error(response, 422, "FORM_INVALID")
    assert "company_name" in body["details"]["fields"]
    assert inbox(client, people["shichang"])["items"] == []


JIAOYI = {
    "property_cert_no": "渝(2020)渝中区不动产权第000123号", "property_address": "重庆市渝中区中山一路 8 号 3-1",
    "area": 89.5, "price": 156, "seller_name": "李四", "seller_id_number": "500103198506120317",
    "buyer_name": "王五", "buyer_id_number": "500103199001011234",
    "materials": {"contract": "CL-2026-0101", "identity": "CL-2026-0102", "certificate": "CL-2026-0103"},
}


def test_budongchan_jiaoyi_accepts_once_then_runs_contract_tax_and_registration_in_parallel(client, people, clock):
    clerk = people["clerk"]
    case_id = start(client, clerk, "budongchan_jiaoyi", JIAOYI, "中山一路 8 号 3-1 二手房交易")
    accept = only_task(client, clerk, "accept")
    for who in ("zhujian", "shuiwu", "guihua"):
        assert inbox(client, people[who])["items"] == []
    done(client, clerk, accept["id"], ACCEPT)
    committed = {c["kind"]: c for c in get_case(client, clerk, case_id)["clocks"]}["committed"]
    assert committed["due_date"] == "2026-03-05"

    steps = {"zhujian": ("contract_review", {"filing_no": "WQ-2026-0001"}, {"contract": "CL-2026-0101"}),
             "shuiwu": ("tax_review", {"tax_amount": 15600, "tax_receipt_no": "WS-2026-0001"},
                        {"contract": "CL-2026-0101", "area": 89.5}),
             "guihua": ("transfer_review", {"new_cert_no": "渝(2026)渝中区不动产权第000456号"},
                        {"certificate": "CL-2026-0103", "buyer_name": "王五"})}
    for who, (element, data, expected) in steps.items():
        task = only_task(client, people[who], element)
        assert last_day(task["due_at"]) == "2026-03-03"
        values = task_detail(client, people[who], task["id"])["bundle"]["values"]
        assert expected.items() <= values.items(), values
        done(client, people[who], task["id"], data)
    assert set(progress(client, clerk, case_id).values()) == {"completed"}
    assert done(client, clerk, only_task(client, clerk, "deliver")["id"], DELIVERY)["status"] == "completed"


def test_the_task_page_shows_collected_values_read_only_and_asks_only_for_the_rest(client, people):
    case_id, _ = open_kaiban(client, people)
    seal = only_task(client, people["gongan"], "seal_review")
    assert login(client, "reviewer_ga", PASSWORD).status_code == 302
    token = csrf_of(client, f"/tasks/{seal['id']}")
    assert client.post(f"/tasks/{seal['id']}/claim", data={"csrf_token": token}).status_code == 302
    page = client.get(f"/tasks/{seal['id']}").get_data(as_text=True)
    assert page.count("已由一件事申报收取，无需重复提交") == 4
    assert 'name="company_name"' in page and 'value="重庆渝通科技有限公司" readonly' in page
    assert 'value="CL-2026-0001" readonly' in page
    posted = client.post(f"/tasks/{seal['id']}/complete", data={"csrf_token": token, "seal_outcome": "done", "filing_no": "GA-1",
                                                                 "company_name": "篡改的名称"})
    assert posted.status_code == 302, posted.get_data(as_text=True)
    assert progress(client, people["clerk"], case_id)["公章刻制备案"] == "completed"
    case_page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "企业开办“一件事” · 子事项进度" in case_page
    assert "<tr><td>营业执照</td><td>已办结</td>" in case_page and "<tr><td>发票申领</td><td>办理中</td>" in case_page


# --- 不予办理 in a bundle ----------------------------------------------------------------------------------------

def test_licence_refused_ends_the_bundle_with_a_refusal_notice_and_no_parallel_work(app, client, people, clock):
    clerk, shichang = people["clerk"], people["shichang"]
    case_id = start(client, clerk, "qiye_kaiban", APPLICATION, "重庆渝通科技有限公司 企业开办")
    license_task = only_task(client, shichang, "license_review")
    # Registering needs the credit code; 不予登记 needs its basis instead (the credit code is hidden then).
    granted = assert_error(complete(client, shichang, license_task["id"], {
        "license_outcome": "registered", "opinion": "准予"}), 422, "FORM_INVALID")
    assert granted["details"]["fields"] == {"credit_code": ["必填项"]}
    assert_error(complete(client, shichang, license_task["id"], {"license_outcome": "refused", "opinion": "不予"}),
                 422, "FORM_INVALID")
    done(client, shichang, license_task["id"], {
        "license_outcome": "refused", "opinion": "不予设立登记",
        "license_refusal_reason": "企业名称与已登记名称相同（《企业名称登记管理规定》第十七条）"})
    assert all(inbox(client, people[who])["items"] == [] for who in PARALLEL)
    notice = only_task(client, clerk, "notify_refusal")
    assert (notice["name"], notice["form_key"]) == ("不予登记告知", "bundle_refusal_notice")
    assert progress(client, clerk, case_id) == {"营业执照": "refused", "公章刻制备案": "waiting", "发票申领": "waiting",
                                                "社保登记": "waiting", "公积金登记": "waiting"}
    at(clock, 2, 15)
    done(client, clerk, notice["id"], {"refusal_notice_no": "渝中市监不登字〔2026〕1 号",
                                       "refusal_notice_method": "window"})
    final = get_case(client, clerk, case_id)
    assert final["status"] == "completed"
    assert [t["element_id"] for t in final["tasks"]] == ["license_review", "notify_refusal"]
    passed = [e for e in get_engine(app).queries.events(case_id) if e.event_type == "FlowAdvanced"]
    assert "end_refused" in {el for e in passed for el in e.payload["elements"]}


def test_one_refused_department_does_not_hold_up_the_others_and_the_delivery_says_so(app, client, people, clock):
    clerk = people["clerk"]
    case_id, _ = open_kaiban(client, people)
    for who in ("gongan", "renshe", "zhujian"):
        element, data = PARALLEL[who]
        done(client, people[who], only_task(client, people[who], element)["id"], data)
    invoice = only_task(client, people["shuiwu"], "invoice_review")
    # The UKey is not issued when refused, so it is not required; the basis is.
    assert_error(complete(client, people["shuiwu"], invoice["id"], {"invoice_outcome": "refused"}), 422, "FORM_INVALID")
    done(client, people["shuiwu"], invoice["id"], {"invoice_outcome": "refused",
                                                   "invoice_refusal_reason": "法定代表人为税收违法失信主体"})
    assert progress(client, clerk, case_id) == {"营业执照": "completed", "公章刻制备案": "completed",
                                                "发票申领": "refused", "社保登记": "completed", "公积金登记": "completed"}
    deliver = only_task(client, clerk, "deliver")
    done(client, clerk, deliver["id"], DELIVERY)
    final = get_case(client, clerk, case_id)
    assert final["status"] == "completed"
    completions = {e.element_id: e.payload["data"] for e in get_engine(app).queries.events(case_id)
                   if e.event_type == "TaskCompleted"}
    assert completions["invoice_review"]["invoice_outcome"] == "refused"
    assert "ukey_issued" not in completions["invoice_review"]
