"""Who approves an extension (行政许可法第四十二条) and the government head's role, without a database."""
from __future__ import annotations

from engine.extension_approval import (
    decides_extension, department_head_required, extension_approver_role, government_head_required, joint_procedure,
)
from engine.legal_clock_records import Budget
from engine.org_file import ROLE_NAMES, ROLES, parse_org_file, placement_problem, reference_problems


def test_the_joint_procedures_clock_is_extended_with_the_government_heads_approval():
    assert (joint_procedure(Budget(45)), joint_procedure(Budget(50)), joint_procedure(Budget(20))) == (True, True, False)
    assert extension_approver_role("legal", Budget(45)) == "government_head"      # 第二款: 本级人民政府负责人
    assert extension_approver_role("legal", Budget(20)) == "department_head"      # 第一款: 本行政机关负责人
    # A 承诺 clock is the department's own promise, not 第四十二条's limit: its head approves, however long.
    assert extension_approver_role("committed", Budget(80)) == "department_head"


def test_a_request_is_decided_by_the_approver_it_asks_for_in_its_district():
    def decides(roles, district="500103", department="zhujian", role="government_head", case_department="zhujian"):
        return decides_extension(roles, district, department, approver_role=role, request_district="500103",
                                 case_department=case_department)
    assert decides(("government_head",), department=None)
    assert not decides(("department_head",))                     # the lead department's head no longer
    assert not decides(("government_head",), district="500101")  # another district's
    assert decides(("department_head", "reviewer"), role="department_head")
    assert decides(("department_head",), role="department_head", department="guihua", case_department=None)
    assert not decides(("department_head",), role="department_head", department="guihua")
    assert not decides(("government_head",), role="department_head")
    assert not decides(("government_head",), district=None)


def test_the_refusals_name_the_approver_and_say_what_is_required():
    refused = government_head_required("500103")
    assert (refused.code, refused.http_status) == ("EXTENSION_APPROVER_REQUIRED", 403)
    assert "本级人民政府负责人" in refused.message and "第四十二条第二款" in refused.message
    assert refused.details == {"approver_role": "government_head", "approver": "本级人民政府负责人",
                               "district": "500103"}
    other = department_head_required("zhujian")
    assert other.code == "EXTENSION_APPROVER_REQUIRED" and "第四十二条第一款" in other.message
    assert other.details["approver_role"] == "department_head"


def test_a_government_head_is_a_role_of_one_district_without_a_department():
    assert "government_head" in ROLES and ROLE_NAMES["government_head"] == "区县政府负责人"
    assert placement_problem(("government_head",), "500103", None) is None
    assert placement_problem(("government_head",), None, None) == "区县政府负责人须填写所在的区县（市级填写 500000）"
    assert placement_problem(("government_head", "reviewer"), "500103", None).startswith("审查人员须填写所在的部门")
    org = parse_org_file("users:\n  - {username: gov_yz, name: 渝中区政府负责人, district: '500103', "
                         "roles: [government_head]}\n  - {username: gov_x, name: 某, roles: [government_head]}\n",
                         "yaml")
    assert reference_problems(org, ["500103"], []) == [
        "第 3 行：用户 gov_x：区县政府负责人须填写所在的区县（市级填写 500000）"]
