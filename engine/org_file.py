"""Organisation files: districts, departments and users as YAML or CSV, checked row by row.

Parsing is pure (no database): :func:`parse_org_file` checks each row on its own and the file as a whole
(duplicates), and :func:`reference_problems` checks what the rows point at against what the database
already holds. Every problem names its line; a file with any problem is refused as a whole.

YAML::

    districts:      # optional: the seeded 区县 and functional zones already exist
      - {code: CQ-XXXX, name: 某功能区, kind: 功能区, parent: "500110"}
    departments:
      - {district: "500103", code: zhujian, name: 住房城乡建设委员会}
    users:
      - {username: reviewer_zj, name: 渝中住建审查, district: "500103", department: zhujian,
         roles: [reviewer], id_number: "500103199003071239"}

CSV: a header line, then one row per record; ``type`` is ``district``, ``department`` or ``user``, and
``code`` holds the district code, the department code or the username::

    type,code,name,kind,parent,district,department,roles,id_number
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .errors import OrgFileInvalid
from .identifiers import district_code_problem
from .masking import id_number_fault, mask_id_number
from .storable import unstorable_in, visible_text
from .text_input import BIDI_WHAT, bidi_lines

ROLES = ("window_clerk", "reviewer", "department_head", "government_head", "supervisor", "designer", "auditor",
         "admin")
ROLE_NAMES = {"window_clerk": "窗口人员", "reviewer": "审查人员", "department_head": "科室负责人",
              "government_head": "区县政府负责人", "supervisor": "电子监察（督办）人员", "designer": "流程设计人员",
              "auditor": "审计人员", "admin": "管理员"}
"""The roles as people read them (error messages, pages).

``government_head`` is 本级人民政府负责人 of 《行政许可法》第四十二条第二款: the head of a district's government (of a
functional zone's 管委会; of 重庆市 at ``500000``), who approves the extension of a 45-day joint procedure."""
DISTRICT_ROLES = ("window_clerk", "reviewer", "department_head", "supervisor")
"""Roles that work in one district and department: their tasks go to ``role@district/department`` groups and
their supervision and metrics are their district's, so a user holding one must name both (a city-level user
names 重庆市 ``500000``). Designers, auditors and administrators work city-wide and may leave them out."""
GOVERNMENT_ROLES = ("government_head",)
"""Roles that act for one district's government, not for a department: a user holding one names the district
and may leave the department out."""
KINDS = ("区", "县", "自治县", "功能区", "市")
DEPARTMENT_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}\Z")
USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}\Z")
CSV_COLUMNS = ("type", "code", "name", "kind", "parent", "district", "department", "roles", "id_number")
SEED_FILE = Path(__file__).with_name("data") / "districts.yaml"
_YAML_KEYS = {
    "districts": {"code", "name", "kind", "parent", "region"},
    "departments": {"district", "code", "name"},
    "users": {"username", "name", "district", "department", "roles", "id_number"},
}


@dataclass(frozen=True)
class DistrictRow:
    """A district as a file gives it (``line`` is where, for messages)."""

    code: str
    name: str
    kind: str
    parent_code: str | None = None
    region: str | None = None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class DepartmentRow:
    """A department of one district."""

    district_code: str
    code: str
    name: str
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class UserRow:
    """A user: roles, district and department (passwords never come from files)."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    district: str | None = None
    department: str | None = None
    id_number: str | None = None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class OrgFile:
    """Everything one file holds, already checked row by row."""

    districts: tuple[DistrictRow, ...] = ()
    departments: tuple[DepartmentRow, ...] = ()
    users: tuple[UserRow, ...] = ()


def parse_org_file(text: str, fmt: str) -> OrgFile:
    """Parse and check an organisation file (``fmt`` is ``"yaml"`` or ``"csv"``).

    Raises:
        OrgFileInvalid: with every problem (line and reason, in Chinese) in ``details["problems"]``.
    """
    problems: list[str] = []
    if fmt == "yaml":
        records = _yaml_records(text, problems)
    elif fmt == "csv":
        records = _csv_records(text, problems)
    else:
        raise OrgFileInvalid(f"不支持的组织机构文件格式 “{fmt}”：应为 yaml 或 csv")
    problems += [f"第 {line} 行：{BIDI_WHAT}" for line in bidi_lines(text)]
    org = _build(records, problems)
    _duplicates(org, problems)
    _raise_if(sorted(problems, key=_line_of))
    return org


def placement_problem(roles: Iterable[str], district: str | None, department: str | None) -> str | None:
    """Why a user with ``roles`` cannot work where placed (None: placed well enough).

    See :data:`DISTRICT_ROLES` (district and department) and :data:`GOVERNMENT_ROLES` (district).

    ``tongban users create`` and ``tongban org load`` both apply it, so the same user is refused by either.
    """
    roles = tuple(dict.fromkeys(roles))
    working = [ROLE_NAMES[r] for r in roles if r in DISTRICT_ROLES]
    if not working or (district and department):
        governing = [ROLE_NAMES[r] for r in roles if r in GOVERNMENT_ROLES]
        return f"{'、'.join(governing)}须填写所在的区县（市级填写 500000）" if governing and not district else None
    missing = "区县和部门" if not district and not department else "区县" if not district else "部门"
    return (f"{'、'.join(working)}须填写所在的{missing}（待办按“角色@区县/部门”分派，"
            "市级人员填写区县 500000 及其部门）")


def reference_problems(org: OrgFile, districts: Iterable[str],
                       departments: Iterable[tuple[str, str]]) -> list[str]:
    """Return the rows that point at a district or department neither the file nor the database has.

    A user whose roles work per district (:data:`DISTRICT_ROLES`) and who names no district or department is
    refused here too (:func:`placement_problem`), as ``tongban users create`` refuses them.
    """
    known = set(districts) | {d.code for d in org.districts}
    known_departments = set(departments) | {(d.district_code, d.code) for d in org.departments}
    problems = []
    for row in org.districts:
        if row.parent_code and row.parent_code not in known:
            problems.append(f"第 {row.line} 行：上级区县代码 {row.parent_code} 不存在")
    for dept in org.departments:
        if dept.district_code not in known:
            problems.append(f"第 {dept.line} 行：区县代码 {dept.district_code} 不存在")
    for user in org.users:
        if user.district and user.district not in known:
            problems.append(f"第 {user.line} 行：用户 {user.username} 的区县代码 {user.district} 不存在")
        elif user.department and (user.district, user.department) not in known_departments:
            problems.append(f"第 {user.line} 行：区县 {user.district} 没有部门 {user.department}")
        elif (placement := placement_problem(user.roles, user.district, user.department)) is not None:
            problems.append(f"第 {user.line} 行：用户 {user.username}：{placement}")
    return problems


@cache
def reference_org() -> OrgFile:
    """Return the shipped seed: the municipality, the 38 区县, the 3 functional zones, their departments."""
    import yaml
    doc = yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))
    rows = [d for section in ("municipality", "districts", "functional_zones") for d in doc[section]]
    districts = tuple(DistrictRow(str(d["code"]), d["name"], d["kind"], _text(d.get("parent")),
                                  d.get("group")) for d in rows)
    departments = tuple(DepartmentRow(d.code, str(dept["code"]), dept["name"])
                        for d in districts for dept in doc["departments"])
    return OrgFile(districts, departments)


def _raise_if(problems: list[str]) -> None:
    if problems:
        shown = "；".join(problems[:3]) + (f"；另有 {len(problems) - 3} 处" if len(problems) > 3 else "")
        raise OrgFileInvalid(f"组织机构文件有 {len(problems)} 处错误，未写入任何数据：{shown}",
                             details={"problems": problems})


def _line_of(problem: str) -> int:
    found = re.match(r"第 (\d+) 行", problem)
    return int(found.group(1)) if found else 0


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _yaml_records(text: str, problems: list[str]) -> list[tuple[str, int, dict[str, Any]]]:
    import yaml

    class LineLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode,  # type: ignore[override]
                              deep: bool = False) -> dict:
            mapping = super().construct_mapping(node, deep=deep)
            mapping["__line__"] = node.start_mark.line + 1
            return mapping

        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep=deep)
            except (ValueError, TypeError, OverflowError):   # 2026-02-30, a list as a key: well-formed, unreadable
                raise _Unreadable(node.start_mark.line + 1) from None

    try:
        doc = yaml.load(text, Loader=LineLoader)  # a SafeLoader subclass
    except _Unreadable as exc:
        problems.append(f"第 {exc.line} 行：值无法读取（如不存在的日期 2026-02-30）；文字请加引号")
        return []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行：" if mark is not None else ""
        problems.append(f"{where}YAML 语法错误（{getattr(exc, 'problem', None) or exc}）")
        return []
    if not isinstance(doc, dict):
        problems.append("YAML 顶层应为映射，可含 districts、departments、users")
        return []
    doc.pop("__line__", None)
    unknown = sorted(str(key) for key in doc if key not in _YAML_KEYS)
    if unknown:
        problems.append(f"未知的键 {'、'.join(unknown)}（可用：districts、departments、users）")
    records = []
    for section, keys in _YAML_KEYS.items():
        items = doc.get(section) or []
        if not isinstance(items, list):
            problems.append(f"{section} 应为列表")
            continue
        for item in items:
            if not isinstance(item, dict):
                problems.append(f"{section} 中的 “{item}” 应为映射")
                continue
            line = int(item.pop("__line__", 0))
            extra = sorted(str(k) for k in set(item) - keys)
            if extra:
                problems.append(f"第 {line} 行：未知的键 {'、'.join(extra)}")
            records.append((section, line, item))
    return records


class _Unreadable(Exception):
    """A well-formed YAML value that cannot be built (an impossible date, a list as a key), at ``line``."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _csv_records(text: str, problems: list[str]) -> list[tuple[str, int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("type", "code", "name") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        problems.append(f"第 1 行：表头应为 {','.join(CSV_COLUMNS)}"
                        + (f"，缺少 {'、'.join(missing)}" if missing else "")
                        + (f"，未知列 {'、'.join(unknown)}" if unknown else ""))
        return []
    sections = {"district": "districts", "department": "departments", "user": "users"}
    records = []
    for raw in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        kind = row.get("type", "")
        if kind not in sections:
            problems.append(f"第 {reader.line_num} 行：type 应为 district、department 或 user，而不是 “{kind}”")
            continue
        if kind == "user":
            row["username"] = row.pop("code", "")
        records.append((sections[kind], reader.line_num, {k: v for k, v in row.items() if v != ""}))
    return records


def _build(records: list[tuple[str, int, dict[str, Any]]], problems: list[str]) -> OrgFile:
    districts, departments, users = [], [], []
    for section, line, item in records:
        bad = unstorable_in(item)   # a YAML "\0" or "\ud800" escape, a NUL in a CSV cell: no database stores it
        if bad is not None:
            problems.append(f"第 {line} 行：{visible_text(bad.where)} {bad.message}")
            continue
        before = len(problems)
        if section == "districts":
            row: Any = _district(line, item, problems)
            target: list[Any] = districts
        elif section == "departments":
            row, target = _department(line, item, problems), departments
        else:
            row, target = _user(line, item, problems), users
        if len(problems) == before:
            target.append(row)
    return OrgFile(tuple(districts), tuple(departments), tuple(users))


def _name(line: int, item: dict[str, Any], problems: list[str], limit: int) -> str:
    name = _text(item.get("name")) or ""
    if not name or len(name) > limit:
        problems.append(f"第 {line} 行：名称不能为空，且不超过 {limit} 个字符")
    return name


def _district_code(line: int, value: Any, problems: list[str], what: str = "区县代码") -> str:
    code = _text(value) or ""
    problem = district_code_problem(code, what)
    if problem:
        problems.append(f"第 {line} 行：{problem}")
    return code


def _district(line: int, item: dict[str, Any], problems: list[str]) -> DistrictRow:
    code = _district_code(line, item.get("code"), problems)
    name = _name(line, item, problems, 64)
    kind = _text(item.get("kind")) or ""
    if kind not in KINDS:
        problems.append(f"第 {line} 行：区县类型 “{kind}” 无效，应为 {'、'.join(KINDS)} 之一")
    parent = _text(item.get("parent"))
    if parent is not None:
        _district_code(line, parent, problems, "上级区县代码")
    return DistrictRow(code, name, kind, parent, _text(item.get("region")), line)


def _department(line: int, item: dict[str, Any], problems: list[str]) -> DepartmentRow:
    district = _district_code(line, item.get("district"), problems)
    code = _text(item.get("code")) or ""
    if not DEPARTMENT_CODE.match(code):
        problems.append(f"第 {line} 行：部门代码 “{code}” 无效，"
                        "应以小写字母开头，只含小写字母、数字和 _，2 到 40 个字符")
    return DepartmentRow(district, code, _name(line, item, problems, 128), line)


def _user(line: int, item: dict[str, Any], problems: list[str]) -> UserRow:
    username = _text(item.get("username")) or ""
    if not USERNAME.match(username):
        problems.append(f"第 {line} 行：用户名 “{username}” 无效，应以小写字母开头，只含小写字母、数字和 _ . -")
    name = _name(line, item, problems, 64)
    raw_roles = item.get("roles") or []
    roles = tuple(str(r).strip() for r in raw_roles) if isinstance(raw_roles, list) \
        else tuple(r for r in re.split(r"[|,;，、\s]+", str(raw_roles)) if r)
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        problems.append(f"第 {line} 行：角色无效：{'、'.join(unknown) or '（空）'}；可选 {', '.join(ROLES)}")
    district = _text(item.get("district"))
    if district is not None:
        _district_code(line, district, problems)
    department = _text(item.get("department"))
    if department is not None and district is None:
        problems.append(f"第 {line} 行：填写部门 {department} 时必须同时填写区县")
    elif department is not None and not DEPARTMENT_CODE.match(department):
        problems.append(f"第 {line} 行：部门代码 “{department}” 无效")
    id_number = _text(item.get("id_number"))
    if id_number is not None:
        id_number = id_number.upper()
        fault = id_number_fault(id_number)
        if fault:
            problems.append(f"第 {line} 行：身份证号 {mask_id_number(id_number)} 无效：{fault}")
    return UserRow(username, name, tuple(dict.fromkeys(roles)), district, department, id_number, line)


def _duplicates(org: OrgFile, problems: list[str]) -> None:
    seen: dict[Any, int] = {}
    keyed = ([(("district", d.code), d.line, f"区县代码 {d.code}") for d in org.districts]
             + [(("department", d.district_code, d.code), d.line, f"部门 {d.district_code}/{d.code}")
                for d in org.departments]
             + [(("user", u.username), u.line, f"用户名 {u.username}") for u in org.users])
    for key, line, label in keyed:
        if key in seen:
            problems.append(f"第 {line} 行：{label} 与第 {seen[key]} 行重复")
        else:
            seen[key] = line
