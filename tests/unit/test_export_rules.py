"""Export rules without a database: which ranges are refused, and how personal data is masked."""
from __future__ import annotations

from datetime import date

import pytest

from engine import ExportQuery, InvalidInput
from engine.exports import check_query, mask_personal


@pytest.mark.parametrize("query,code", [
    (ExportQuery(date(2026, 12, 1), date(2026, 11, 1)), "EXPORT_RANGE_REVERSED"),
    (ExportQuery(date(1900, 1, 1), date(2026, 11, 1)), "EXPORT_RANGE_INVALID"),
    (ExportQuery(date(2026, 1, 1), date(9999, 12, 31)), "EXPORT_RANGE_INVALID"),
    (ExportQuery(date(2024, 1, 1), date(2026, 1, 1)), "EXPORT_RANGE_TOO_LONG"),
    (ExportQuery(date(2026, 1, 1), date(2026, 1, 2), "xlsx"), "EXPORT_FORMAT"),
])
def test_a_bad_export_is_refused_with_a_code_and_a_chinese_reason(query, code):
    with pytest.raises(InvalidInput) as caught:
        check_query(query)
    assert caught.value.code == code and caught.value.http_status == 422
    assert any("\u4e00" <= c <= "\u9fff" for c in caught.value.message)


def test_a_year_and_a_single_day_are_fine():
    check_query(ExportQuery(date(2026, 1, 1), date(2026, 12, 31)))
    check_query(ExportQuery(date(2026, 11, 23), date(2026, 11, 23), "jsonl"))
    assert ExportQuery(date(2026, 11, 1), date(2026, 11, 30), "jsonl").filename == "events-20261101-20261130.jsonl"


def test_personal_data_is_masked_wherever_it_is_and_everything_else_is_kept():
    payload = {
        "data": {"applicant": "张三丰", "applicant_kind": "person", "id_number": "500103198506120317",
                 "legal_rep_id": "500103198506120317", "contact_phone": "13800138000", "phone": "023-63891234",
                 "property_address": "重庆市渝中区解放碑街道 8 号", "fund_account_no": "6222020200112233",
                 "note": "申请人电话 13912345678，身份证 500103198506120317", "area": 120.5, "approved": True,
                 "buyers": [{"buyer_name": "李四", "buyer_id_number": "500101199003041125"}],
                 "company_name": "重庆某建设有限公司"},
        "name": "审查", "candidate_groups": ["reviewer@500103/zhujian"],
    }
    masked = mask_personal(payload)
    data = masked["data"]
    assert data["applicant"] == "张**" and data["buyers"][0]["buyer_name"] == "李*"
    assert data["id_number"] == "5001**********0317" and data["buyers"][0]["buyer_id_number"] == "5001**********1125"
    assert data["legal_rep_id"] == "5001**********0317"          # an ID number under any key, found by its shape
    assert data["contact_phone"] == "138****8000" and data["phone"] == "023*****1234"
    assert data["property_address"] == "重庆市渝中区***" and data["fund_account_no"] == "************2233"
    assert data["note"] == "申请人电话 139****5678，身份证 5001**********0317"
    assert (data["area"], data["approved"], data["company_name"]) == (120.5, True, "重庆某建设有限公司")
    assert masked["name"] == "审查" and masked["candidate_groups"] == ["reviewer@500103/zhujian"]
    assert payload["data"]["applicant"] == "张三丰"   # the record itself is never changed
