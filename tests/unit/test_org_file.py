"""Organisation files (YAML and CSV) checked row by row, and the shipped district seed."""
from __future__ import annotations

import pytest

from engine import OrgFileInvalid, parse_org_file, reference_org
from engine.candidates import parse_candidate, resolve_groups
from engine.org_file import DepartmentRow, DistrictRow, UserRow, reference_problems

GOOD_YAML = """\
districts:
  - {code: CQ-SQJK, name: 双桥经开区, kind: 功能区, parent: 500111}
departments:
  - {district: CQ-SQJK, code: zwzx, name: 政务服务中心}
  - {district: 500103, code: wenlv, name: 文化旅游委员会}
users:
  - username: window_sq
    name: 双桥窗口
    district: CQ-SQJK
    department: zwzx
    roles: [window_clerk]
    id_number: 50010519950918441x
  - {username: reviewer_wl, name: 渝中文旅审查, district: 500103, department: wenlv,
     roles: "reviewer|department_head"}
  - {username: supervisor_city, name: 市级监察, roles: [supervisor], district: 500000, department: jiancha}
"""
GOOD_CSV = """\
type,code,name,kind,parent,district,department,roles,id_number
district,CQ-SQJK,双桥经开区,功能区,500111,,,,
department,zwzx,政务服务中心,,,CQ-SQJK,,,
department,wenlv,文化旅游委员会,,,500103,,,
user,window_sq,双桥窗口,,,CQ-SQJK,zwzx,window_clerk,50010519950918441X
user,reviewer_wl,渝中文旅审查,,,500103,wenlv,reviewer|department_head,
user,supervisor_city,市级监察,,,500000,jiancha,supervisor,
"""
EXPECTED_USERS = (
    UserRow("window_sq", "双桥窗口", ("window_clerk",), "CQ-SQJK", "zwzx", "50010519950918441X"),
    UserRow("reviewer_wl", "渝中文旅审查", ("reviewer", "department_head"), "500103", "wenlv"),
    UserRow("supervisor_city", "市级监察", ("supervisor",), "500000", "jiancha"),
)


def problems_of(text: str, fmt: str = "yaml") -> list[str]:
    """Parse ``text`` expecting a refusal; return its problems."""
    with pytest.raises(OrgFileInvalid) as refused:
        parse_org_file(text, fmt)
    assert refused.value.code == "ORG_FILE_INVALID"
    assert "未写入任何数据" in refused.value.message
    return refused.value.details["problems"]


def test_a_good_yaml_file_gives_districts_departments_and_users_with_their_lines():
    org = parse_org_file(GOOD_YAML, "yaml")
    assert org.districts == (DistrictRow("CQ-SQJK", "双桥经开区", "功能区", "500111"),)
    assert org.departments == (DepartmentRow("CQ-SQJK", "zwzx", "政务服务中心"),
                               DepartmentRow("500103", "wenlv", "文化旅游委员会"))
    assert org.users == EXPECTED_USERS
    assert [u.line for u in org.users] == [7, 13, 15]


def test_the_same_content_as_csv_parses_to_the_same_rows():
    org = parse_org_file(GOOD_CSV, "csv")
    assert org == parse_org_file(GOOD_YAML, "yaml")
    assert [u.line for u in org.users] == [5, 6, 7]
    assert parse_org_file("\ufeff" + GOOD_CSV + "\n,,,,,,,,\n", "csv") == org  # BOM and blank rows are fine


@pytest.mark.parametrize(("text", "expected"), [
    ("users:\n  - {username: a_b, name: 甲, roles: [emperor]}\n", "第 2 行：角色无效：emperor"),
    ("users:\n  - {username: a_b, name: 甲}\n", "第 2 行：角色无效：（空）"),
    ("users:\n  - {username: Bad Name, name: 甲, roles: [reviewer]}\n", "第 2 行：用户名 “Bad Name” 无效"),
    ("users:\n  - {username: a_b, name: 甲, roles: [reviewer], district: 510104}\n",
     "第 2 行：区县代码 “510104” 无效"),
    ("users:\n  - {username: a_b, name: 甲, roles: [reviewer], department: zhujian}\n",
     "第 2 行：填写部门 zhujian 时必须同时填写区县"),
    ("users:\n  - {username: a_b, name: 甲, roles: [reviewer], district: 500103, department: ZhuJian}\n",
     "第 2 行：部门代码 “ZhuJian” 无效"),
    ("departments:\n  - {district: 500103, code: 住建, name: 住建委}\n", "第 2 行：部门代码 “住建” 无效"),
    ("departments:\n  - {district: 500103, code: zhujian}\n", "第 2 行：名称不能为空"),
    ("districts:\n  - {code: CQ-X1, name: 某区, kind: 功能区}\n", "第 2 行：区县代码 “CQ-X1” 无效"),
    ("districts:\n  - {code: CQ-ABC, name: 某区, kind: 镇}\n", "第 2 行：区县类型 “镇” 无效"),
    ("districts:\n  - {code: CQ-ABC, name: 某区, kind: 功能区, parent: 5001}\n",
     "第 2 行：上级区县代码 “5001” 无效"),
    ("users:\n  - {username: a_b, name: 甲, roles: [reviewer], colour: red}\n", "第 2 行：未知的键 colour"),
    ("people: []\n", "未知的键 people"),
    ("users: {username: a_b}\n", "users 应为列表"),
    ("- just a list\n", "YAML 顶层应为映射"),
    ("users: [\n", "第 2 行：YAML 语法错误"),
], ids=["unknown-role", "no-role", "bad-username", "district-outside-chongqing",
        "department-without-district", "bad-user-department", "chinese-department-code",
        "department-without-name", "bad-internal-code", "bad-kind", "bad-parent", "unknown-key",
        "unknown-section", "section-not-a-list", "not-a-mapping", "yaml-syntax"])
def test_each_bad_yaml_row_is_named_with_its_line(text, expected):
    assert any(p.startswith(expected) for p in problems_of(text)), problems_of(text)


def test_duplicates_name_both_lines():
    text = ("departments:\n  - {district: 500103, code: wenlv, name: 文旅委}\n"
            "  - {district: 500103, code: wenlv, name: 文旅委}\n"
            "users:\n  - {username: a_b, name: 甲, roles: [reviewer]}\n"
            "  - {username: a_b, name: 乙, roles: [reviewer]}\n")
    assert problems_of(text) == ["第 3 行：部门 500103/wenlv 与第 2 行重复", "第 6 行：用户名 a_b 与第 5 行重复"]


def test_a_bad_id_number_is_refused_without_echoing_it():
    bad = "users:\n  - {username: a_b, name: 甲, roles: [reviewer], id_number: '500103198506120318'}\n"
    (problem,) = problems_of(bad)
    assert problem == "第 2 行：身份证号 5001**********0318 无效：校验位不正确"


def test_every_bad_row_is_reported_not_only_the_first():
    text = GOOD_CSV + "user,x,甲,,,,,emperor,\nspaceship,CQ-ABC,某,,,,,,\ndistrict,CQ-ABC,某区,乡,,,,,\n"
    assert problems_of(text, "csv") == [
        "第 8 行：用户名 “x” 无效，应以小写字母开头，只含小写字母、数字和 _ . -",
        "第 8 行：角色无效：emperor；可选 window_clerk, reviewer, department_head, government_head, supervisor, designer, "
        "auditor, admin",
        "第 9 行：type 应为 district、department 或 user，而不是 “spaceship”",
        "第 10 行：区县类型 “乡” 无效，应为 区、县、自治县、功能区、市 之一",
    ]


def test_a_csv_with_a_wrong_header_is_refused():
    (problem,) = problems_of("kind,code\nuser,a_b\n", "csv")
    assert problem.startswith("第 1 行：表头应为 type,code,name") and "缺少 type、name" in problem
    assert "未知列 kind" not in problem  # kind is a known column
    assert "未知列 colour" in problems_of("type,code,name,colour\n", "csv")[0]


def test_an_unknown_format_is_refused():
    with pytest.raises(OrgFileInvalid, match="xlsx"):
        parse_org_file("", "xlsx")


def test_references_are_checked_against_the_database_and_the_file_itself():
    org = parse_org_file(GOOD_YAML, "yaml")
    assert reference_problems(org, {"500000", "500103", "500111"}, {("500000", "jiancha")}) == []
    assert reference_problems(org, {"500000", "500103"}, {("500000", "jiancha")}) == [
        "第 2 行：上级区县代码 500111 不存在"]
    lonely = parse_org_file(
        "users:\n  - {username: a_b, name: 甲, roles: [reviewer], district: 500199}\n"
        "  - {username: c_d, name: 乙, roles: [reviewer], district: 500103, department: wenlv}\n", "yaml")
    assert reference_problems(lonely, {"500103"}, {("500103", "zhujian")}) == [
        "第 2 行：用户 a_b 的区县代码 500199 不存在", "第 3 行：区县 500103 没有部门 wenlv"]


# The 38 区县 of DOMAIN.md §7.1 (GB/T 2260) and the three functional zones of §7.2.
DISTRICTS = {
    "500101": "万州区", "500102": "涪陵区", "500103": "渝中区", "500104": "大渡口区", "500105": "江北区",
    "500106": "沙坪坝区", "500107": "九龙坡区", "500108": "南岸区", "500109": "北碚区", "500110": "綦江区",
    "500111": "大足区", "500112": "渝北区", "500113": "巴南区", "500114": "黔江区", "500115": "长寿区",
    "500116": "江津区", "500117": "合川区", "500118": "永川区", "500119": "南川区", "500120": "璧山区",
    "500151": "铜梁区", "500152": "潼南区", "500153": "荣昌区", "500154": "开州区", "500155": "梁平区",
    "500156": "武隆区", "500229": "城口县", "500230": "丰都县", "500231": "垫江县", "500233": "忠县",
    "500235": "云阳县", "500236": "奉节县", "500237": "巫山县", "500238": "巫溪县", "500240": "石柱土家族自治县",
    "500241": "秀山土家族苗族自治县", "500242": "酉阳土家族苗族自治县", "500243": "彭水苗族土家族自治县",
}


def test_the_seed_holds_exactly_the_38_districts_the_3_zones_and_the_municipality():
    seed = reference_org()
    by_kind: dict[str, dict[str, str]] = {}
    for row in seed.districts:
        by_kind.setdefault(row.kind, {})[row.code] = row.name
    assert {**by_kind["区"], **by_kind["县"], **by_kind["自治县"]} == DISTRICTS
    assert (len(by_kind["区"]), len(by_kind["县"]), len(by_kind["自治县"])) == (26, 8, 4)
    assert by_kind["功能区"] == {"CQ-LJXQ": "两江新区", "CQ-GXQ": "重庆高新区", "CQ-WSJK": "万盛经开区"}
    assert by_kind["市"] == {"500000": "重庆市"}
    assert {row.code: row.parent_code for row in seed.districts if row.parent_code} == {"CQ-WSJK": "500110"}
    regions = {row.region for row in seed.districts if row.kind in ("区", "县", "自治县")}
    assert regions == {"中心城区", "主城新区", "渝东北", "渝东南"}


def test_every_seeded_district_has_the_standard_departments():
    seed = reference_org()
    departments: dict[str, set[str]] = {}
    for dept in seed.departments:
        departments.setdefault(dept.district_code, set()).add(dept.code)
    assert set(departments) == {row.code for row in seed.districts}
    for codes in departments.values():
        assert codes >= {"zwzx", "xingzheng", "zhujian", "shichang", "guihua", "xiaofang", "dsj", "shenji"}
    # The seed passes the same checks as any organisation file.
    assert reference_problems(seed, [], []) == []


def test_functional_zone_codes_work_in_candidate_groups():
    assert parse_candidate("window_clerk@CQ-LJXQ/zwzx").district == "CQ-LJXQ"
    assert resolve_groups(["window_clerk@${receiving}"], {"receiving_district": "CQ-LJXQ"}, {}) == [
        "window_clerk@CQ-LJXQ"]


def test_a_value_yaml_cannot_build_names_its_line_instead_of_raising():
    problems = problems_of("districts:\n  - {code: CQ-A, name: 2026-02-30, kind: 功能区, parent: 500111}\n")
    assert problems == ["第 2 行：值无法读取（如不存在的日期 2026-02-30）；文字请加引号"]


def test_a_user_whose_roles_work_per_district_must_name_a_district_and_department():
    """QA: a reviewer or supervisor without a district (or department) loaded, and could never work."""
    org = parse_org_file(
        "users:\n  - {username: qa_o5, name: 戊, roles: [reviewer]}\n"
        "  - {username: qa_o6, name: 己, roles: [supervisor], district: 500103}\n"
        "  - {username: qa_o7, name: 庚, roles: [auditor]}\n"
        "  - {username: qa_o8, name: 辛, roles: [window_clerk], district: 500103, department: zwzx}\n", "yaml")
    assert reference_problems(org, {"500103"}, {("500103", "zwzx")}) == [
        "第 2 行：用户 qa_o5：审查人员须填写所在的区县和部门（待办按“角色@区县/部门”分派，市级人员填写区县 500000 及其部门）",
        "第 3 行：用户 qa_o6：电子监察（督办）人员须填写所在的部门（待办按“角色@区县/部门”分派，市级人员填写区县 500000 及其部门）"]
