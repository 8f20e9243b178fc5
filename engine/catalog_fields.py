"""Checks of the parts of one matter catalog entry, each problem a finding at its line.

:func:`engine.catalog.parse_catalog` reads an entry's scalar fields itself and hands each structured part to
a function here: the modes (通办模式), the districts that offer the matter, its materials, the per-district
overrides, the yellow thresholds (``lights``), the fixed start data (``facts``), a limit that may not exceed
another (承诺时限 against 法定时限, a district's against the matter's), and the 承办部门 against the
organisation (:class:`KnownOrg`). Each appends findings to the file's ``_Checker`` and returns what it read.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from .catalog_entry import MAX_NAME, MODES, Limit, Material
from .catalog_yaml import _Checker, _Node
from .category_limit import CategoryLimit, is_category_node
from .identifiers import district_code_problem

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
FACT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
"""A fact's name: a variable the diagrams read (lower case, digits, underscores)."""
_OWN_FIELDS = frozenset({"department", "substantive_check"})


class KnownOrg(frozenset):
    """The district codes of the organisation, with each district's department codes.

    A frozenset of district codes (what ``known_districts`` takes), so every caller that passes plain codes
    keeps working; passing this instead also checks a matter's ``department`` against the districts that
    offer it (``TB_CATALOG_DEPARTMENT``).
    """

    departments: Mapping[str, frozenset[str]]

    def __new__(cls, districts: Iterable[str], departments: Iterable[tuple[str, str]] = ()) -> "KnownOrg":
        """Build from district codes and ``(district, department)`` code pairs."""
        known = super().__new__(cls, districts)
        by_district: dict[str, set[str]] = {}
        for district, department in departments:
            by_district.setdefault(district, set()).add(department)
        known.departments = {k: frozenset(v) for k, v in by_district.items()}
        return known


def check_department(check: _Checker, department: str, offered: tuple[str, ...] | None, org: KnownOrg,
                     line: int) -> None:
    """Refuse a 承办部门 missing from a district that offers the matter.

    Only districts whose departments the organisation lists are judged (a district without any is not).
    """
    where = sorted(org) if offered is None else offered
    missing = [d for d in where if org.departments.get(d) and department not in org.departments[d]]
    if missing:
        more = f"等 {len(missing)} 个区县" if len(missing) > 1 else ""
        check.fail("TB_CATALOG_DEPARTMENT", f"承办部门 {department} 不在提供该事项的区县 {missing[0]}{more}的组织"
                   "机构中；请改正部门代码，或先用 tongban org load 添加该部门", line, department)


def check_not_longer(check: _Checker, shorter: Limit, longer: Limit, line: int, what: str, than: str) -> None:
    """Refuse ``shorter`` (named ``what``) when it may run longer than ``longer`` (named ``than``)."""
    if shorter.unit == longer.unit or shorter.amount == 0:
        if shorter.amount > longer.amount:
            check.fail("TB_CATALOG_LIMIT", f"{what}（{shorter}）不能长于{than}（{longer}）", line)
    elif shorter.unit == "day" and longer.unit == "workday":
        # Natural days are never fewer than the working days they span, so equal numbers are safe.
        if shorter.amount > longer.amount:
            check.fail("TB_CATALOG_LIMIT", f"{what}（{shorter}）不能长于{than}（{longer}）", line)
    else:
        check.fail("TB_CATALOG_LIMIT", f"{what}以工作日计而{than}以自然日计，无法保证不超过{than}；请使用同一单位",
                   line)


def check_modes(check: _Checker, node: _Node | None, line: int) -> tuple[str, ...]:
    """The ``modes`` list (通办模式), each known and kept once, in order."""
    if node is None:
        return ()
    if not isinstance(node.value, list):
        check.fail("TB_CATALOG_FIELD", f"modes 应为列表，可选 {'、'.join(f'{k}（{v}）' for k, v in MODES.items())}",
                   node.line)
        return ()
    modes = []
    for item in node.value:
        if item.value not in MODES:
            check.fail("TB_CATALOG_FIELD", f"通办模式 {item.value!r} 无效，可选 {'、'.join(MODES)}", item.line)
        elif item.value not in modes:
            modes.append(item.value)
    return tuple(modes)


def check_districts(check: _Checker, node: _Node | None, line: int,
                    known: frozenset[str]) -> tuple[str, ...] | None:
    """The districts offering the matter (each in ``known``, or well formed when it is empty); None for ``all``."""
    if node is None:
        check.fail("TB_CATALOG_FIELD", "缺少 districts（提供该事项的区县代码列表，或 all）", line)
        return ()
    if node.value == "all":
        return None
    if not isinstance(node.value, list) or not node.value:
        check.fail("TB_CATALOG_FIELD", "districts 应为区县代码列表或 all", node.line)
        return ()
    codes = []
    for item in node.value:
        code = str(item.value)
        problem = _district_problem(code, known)
        if problem:
            check.fail("TB_CATALOG_DISTRICT", problem, item.line, code)
        elif code not in codes:
            codes.append(code)
    return tuple(codes)


def _district_problem(code: str, known: frozenset[str], where: str = "") -> str | None:
    """Why ``code`` may not name a district here: not a district code, or (``known`` given) not one of them."""
    problem = district_code_problem(code, f"{where}区县代码")
    if problem is None and known and code not in known:
        problem = f"{where}区县代码 {code} 不存在"
    return problem


def check_materials(check: _Checker, node: _Node | None, line: int) -> tuple[Material, ...]:
    """The ``materials`` list: known fields, keys unique, 容缺 only on a required material."""
    if node is None or node.value is None:
        return ()
    if not isinstance(node.value, list):
        check.fail("TB_CATALOG_FIELD", "materials 应为材料列表", node.line)
        return ()
    found: dict[str, int] = {}
    materials = []
    for item in node.value:
        if not isinstance(item.value, dict):
            check.fail("TB_CATALOG_FIELD", "每项材料应为一组 键: 值（key, name, required ...）", item.line)
            continue
        entry = item.value
        for key in set(entry) - {"key", "name", "required", "tolerance", "license", "original"}:
            check.fail("TB_CATALOG_FIELD", f"材料的未知字段 {key}", entry[key].line)
        key = check.text(entry, "key", item.line, what="材料标识，小写字母开头", pattern=KEY)
        name = check.text(entry, "name", item.line, what="材料名称")
        required = check.flag(entry, "required", True)
        tolerance = check.flag(entry, "tolerance", False)
        if tolerance and not required:
            check.fail("TB_CATALOG_FIELD", f"材料 {key} 不是必备材料，无需标注容缺", entry["tolerance"].line, key)
        license_ = check.text(entry, "license", item.line, required=False, what="可替代的电子证照类型")
        if key is None or name is None:
            continue
        if key in found:
            check.fail("TB_CATALOG_MATERIAL", f"材料标识 {key} 与第 {found[key]} 行重复", item.line, key)
            continue
        found[key] = item.line
        materials.append(Material(key, name, required, tolerance, license_, check.flag(entry, "original", False)))
    return tuple(materials)


def check_overrides(check: _Checker, node: _Node | None, known: frozenset[str],
                    committed: Limit | CategoryLimit | None) -> dict[str, dict[str, Any]]:
    """The per-district ``overrides`` (agency, window, a committed limit no longer than the matter's)."""
    if node is None or node.value is None:
        return {}
    if not isinstance(node.value, dict):
        check.fail("TB_CATALOG_FIELD", "overrides 应以区县代码为键", node.line)
        return {}
    out: dict[str, dict[str, Any]] = {}
    for district, value in node.value.items():
        code = str(district)
        problem = _district_problem(code, known, "overrides 中的")
        if problem:
            check.fail("TB_CATALOG_DISTRICT", problem, value.line, code)
            continue
        if not isinstance(value.value, dict):
            check.fail("TB_CATALOG_FIELD", f"区县 {code} 的实施差异应为一组 键: 值", value.line, code)
            continue
        entry = value.value
        for key in set(entry) - {"agency", "window", "committed_limit"}:
            check.fail("TB_CATALOG_FIELD", f"区县 {code} 的未知字段 {key}；可用 agency、window、committed_limit",
                       entry[key].line, code)
        override: dict[str, Any] = {k: entry[k].value for k in ("agency", "window") if k in entry}
        if "committed_limit" in entry and isinstance(committed, CategoryLimit):
            check.fail("TB_CATALOG_LIMIT", f"事项的承诺时限按项目类别确定，区县 {code} 不能另设 committed_limit；"
                       "各类别的时限在 targets.yaml 中配置", entry["committed_limit"].line, code)
        elif "committed_limit" in entry and is_category_node(entry["committed_limit"]):
            check.fail("TB_CATALOG_LIMIT", f"区县 {code} 的承诺时限只能写成 {{amount: 天数, unit: workday|day}}；"
                       "按项目类别确定须写在事项的 committed_limit 上", entry["committed_limit"].line, code)
        elif "committed_limit" in entry:
            limit = check.limit(entry["committed_limit"], "committed_limit", f"区县 {code} 承诺时限", value.line)
            if limit is not None and isinstance(committed, Limit):
                check_not_longer(check, limit, committed, entry["committed_limit"].line, f"区县 {code} 的承诺时限",
                            "事项的承诺时限")
                override["committed_limit"] = limit.to_dict()
        out[code] = override
    return out


def check_lights(check: _Checker, node: _Node | None) -> dict[str, Any] | None:
    """``lights: {yellow_days: 1, yellow_ratio: 0.2}``: when a clock of this matter turns yellow."""
    if node is None or node.value is None:
        return None
    value = node.value
    if not isinstance(value, dict) or not value or set(value) - {"yellow_days", "yellow_ratio"}:
        check.fail("TB_CATALOG_LIGHTS", "lights 应写成 {yellow_days: 剩余工作日, yellow_ratio: 剩余比例}", node.line)
        return None
    out: dict[str, Any] = {}
    days, ratio = value.get("yellow_days"), value.get("yellow_ratio")
    if days is not None:
        if isinstance(days.value, bool) or not isinstance(days.value, int) or not 0 <= days.value <= 60:
            check.fail("TB_CATALOG_LIGHTS", "yellow_days 应为 0 至 60 的整数", days.line)
        else:
            out["yellow_days"] = days.value
    if ratio is not None:
        if isinstance(ratio.value, bool) or not isinstance(ratio.value, (int, float)) or not 0 <= ratio.value < 1:
            check.fail("TB_CATALOG_LIGHTS", "yellow_ratio 应为 0 至 1 之间的小数（如 0.2）", ratio.line)
        else:
            out["yellow_ratio"] = float(ratio.value)
    return out


def check_facts(check: _Checker, node: _Node | None) -> dict[str, Any]:
    """The ``facts`` mapping: start data the matter fixes, names checked, values plain (text, number, yes/no)."""
    if node is None:
        return {}
    if not isinstance(node.value, dict) or not node.value:
        check.fail("TB_CATALOG_FIELD", "facts（事项确定的办件数据）应为一组 名称: 值", node.line)
        return {}
    facts: dict[str, Any] = {}
    for key, value in node.value.items():
        if not isinstance(key, str) or not FACT_KEY.match(key):
            check.fail("TB_CATALOG_FIELD", f"facts 中的名称 {key!r} 应以小写字母开头，只含小写字母、数字和下划线，"
                       "至多 40 个字符", value.line)
        elif key in _OWN_FIELDS:
            check.fail("TB_CATALOG_FIELD", f"{key} 有自己的字段，请直接写在事项下，不要写在 facts 中", value.line)
        elif isinstance(value.value, bool) or (isinstance(value.value, int) and abs(value.value) < 2 ** 53) \
                or (isinstance(value.value, str) and 0 < len(value.value) <= MAX_NAME):
            facts[key] = value.value
        else:
            check.fail("TB_CATALOG_FIELD", f"facts 中 {key} 的值应为文字（1 至 {MAX_NAME} 个字符）、整数或 true/false",
                       value.line)
    return facts
