"""The matter catalog (事项目录): what a matter is, which process runs it, and how each district offers it.

One entry per matter (GB/T 39046 表4 as far as DOMAIN.md §3 describes it), kept in ``matters.yaml`` (or
``*.matters.yaml``) files next to the diagrams in ``processes/`` and deployed with them. Codes are opaque
strings (no fixed length, DOMAIN §3.2). Every problem is reported with its file and line, and a file with
any problem deploys nothing::

    matters:
      - code: "11500103MB1234567X4000117001"      # 实施编码, unique
        basic_code: "000117001000"                 # 基本编码
        name: 建筑工程施工许可证核发
        type: "01"                                 # 事项类型代码, GB/T 39046 A.1
        basis: 《中华人民共和国建筑法》第八条        # 设定依据
        level: 4                                   # 行使层级代码, A.2
        handling: commitment                       # 办件类型: instant 即办件 | commitment 承诺件
        legal_limit: {amount: 20, unit: workday}   # 法定时限; unit workday | day
        committed_limit: {amount: 10, unit: workday}   # or {by: project_category}: see below
        process: parallel_approval                 # the BPMN process key it runs
        modes: [online, proxy, joint]              # 全渝通办: online 全程网办, proxy 异地代收代办,
                                                   #   joint 多地联办, local 就地批办
        districts: ["500103", "500105"]            # where it is offered; "all" for every district
        department: zhujian                        # 承办部门 code (optional): the metrics count the case there
        substantive_check: true                    # optional: 实质核查 by two staff (行政许可法第三十四条);
                                                   #   with department, put into an online case's start data
        facts: {sub_type: seizure}                 # optional: start data the matter fixes (the process
                                                   #   branches on it); every intake puts it in, no form may
                                                   #   change it
        materials:
          - key: application_form
            name: 建筑工程施工许可证申请表
            required: true                         # 必备材料
            tolerance: false                       # 容缺: may be supplied after acceptance
            license: null                          # 电子证照 type code that may replace the upload
            original: false                        # the original must be seen (原件核验)
        overrides:                                 # per-district 实施 differences
          "500103": {agency: 渝中区住房城乡建委, window: 区政务服务中心 3 号窗,
                     committed_limit: {amount: 5, unit: workday}}

``committed_limit: {by: project_category}`` says the 承诺时限 is each project category's 审批目标时限 from
``targets.yaml`` (工改, :mod:`engine.category_limit`): no amount, no district override of it, no ``handoff``,
not for an 即办件, and not compared with the legal limit (工改's committed clock spans the whole project, the
legal one each stage). Its process must take the committed clock's length from the case data
(``<tb:clock kind="committed" amountFrom="...">``) and the engine must have loaded a ``targets.yaml``; the
deploy refuses otherwise (``TB_CATALOG_CATEGORY_CLOCK``, ``TB_CATALOG_CATEGORY_TARGETS``).

A change to an entry is a new version of that matter (content-hashed, like definitions); cases record the
version they were received under.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

import yaml

from .audit import canonical_json
from .catalog_handoff import check_handoff
from .category_limit import CategoryLimit, category_findings, is_category_node, parse_category_limit
from .definitions import PROCESS_KEY, Finding   # PROCESS_KEY: engine.bundle and engine.drafts import it from here
from .errors import DefinitionRejected
from .org_file import DEPARTMENT_CODE
from .parser_text import detail
from .text_input import BIDI_CONTROLS, BIDI_WHAT, bidi_lines

MODES = {"online": "全程网办", "proxy": "异地代收代办", "joint": "多地联办", "local": "就地批办"}
HANDLING = {"instant": "即办件", "commitment": "承诺件"}
UNITS = {"workday": "个工作日", "day": "日"}
TYPE_CODE = re.compile(r"^\d{2}$")
DISTRICT_CODE = re.compile(r"^(?:\d{6}|CQ-[A-Z]{2,12})$")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_NAME = 200
"""Longest 事项名称 (the ``matter_versions.name`` column)."""
MAX_SOURCE_NAME = 255
"""Longest catalog file name (the ``matter_versions.source_name`` column)."""
MAX_CATALOG_BYTES = 1_000_000
MAX_LIMIT_DAYS = 3650
MAX_NODES = 100_000


def is_catalog_file(name: str) -> bool:
    """Whether a file name is a matter catalog (``matters.yaml`` or ``*.matters.yaml``, or .yml)."""
    return yaml_file_named(name, "matters")


def yaml_file_named(name: str, stem: str) -> bool:
    """Whether ``name`` (any folder) is ``<stem>.yaml`` or ``*.<stem>.yaml`` (or ``.yml``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base in (f"{stem}.yaml", f"{stem}.yml") or base.endswith((f".{stem}.yaml", f".{stem}.yml"))


@dataclass(frozen=True)
class Limit:
    """A time limit: ``amount`` working days (``workday``) or natural days (``day``)."""

    amount: int
    unit: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"amount": self.amount, "unit": self.unit}

    def __str__(self) -> str:
        return f"{self.amount} {UNITS[self.unit]}"


@dataclass(frozen=True)
class Material:
    """One item of a matter's materials list."""

    key: str
    name: str
    required: bool = True
    tolerance: bool = False
    license: str | None = None
    original: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"key": self.key, "name": self.name, "required": self.required, "tolerance": self.tolerance,
                "license": self.license, "original": self.original}


@dataclass(frozen=True)
class Matter:
    """A catalog entry as validated; ``doc`` is its canonical JSON form (what is hashed and stored)."""

    code: str
    name: str
    process_key: str
    handling: str
    legal_limit: Limit
    committed_limit: Limit | CategoryLimit
    modes: tuple[str, ...]
    districts: tuple[str, ...] | None
    materials: tuple[Material, ...]
    overrides: Mapping[str, Mapping[str, Any]]
    doc: Mapping[str, Any]
    source_name: str = ""
    line: int = 0
    committed_line: int = 0
    """The line of ``committed_limit`` in the catalog file (0 when rebuilt from storage)."""

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the entry."""
        return hashlib.sha256(canonical_json(self.doc).encode()).hexdigest()

    def offered_in(self, district: str | None) -> bool:
        """Whether the matter is offered at ``district``'s windows (``districts: all`` offers it everywhere)."""
        return self.districts is None or district in self.districts

    @property
    def handoff(self) -> Mapping[str, Any] | None:
        """异地代收代办 settings (``process``, ``clock_starts``, ``transfer_limit``), None when not offered."""
        return self.doc.get("handoff")

    @property
    def lights(self) -> Mapping[str, Any]:
        """The matter's yellow thresholds (``yellow_days``, ``yellow_ratio``); empty: the clock defaults."""
        return self.doc.get("lights") or {}

    @property
    def by_category(self) -> bool:
        """Whether the committed limit is set per project category (the targets table, not an amount)."""
        return isinstance(self.committed_limit, CategoryLimit)

    def committed_limit_in(self, district: str | None) -> Limit | CategoryLimit:
        """The committed limit that applies in ``district`` (an override may only shorten it).

        A limit set per project category is the same everywhere: a deploy refuses a district override of it.
        """
        override = self.overrides.get(district or "", {}).get("committed_limit")
        return Limit(**override) if override and not self.by_category else self.committed_limit

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Matter":
        """Rebuild a matter from its stored JSON form (already validated at deploy)."""
        return cls(
            code=doc["code"], name=doc["name"], process_key=doc["process"], handling=doc["handling"],
            legal_limit=Limit(**doc["legal_limit"]), committed_limit=_limit_from_doc(doc["committed_limit"]),
            modes=tuple(doc["modes"]), districts=None if doc["districts"] == "all" else tuple(doc["districts"]),
            materials=tuple(Material(**m) for m in doc["materials"]), overrides=doc["overrides"], doc=doc)


def _limit_from_doc(doc: Mapping[str, Any]) -> Limit | CategoryLimit:
    return CategoryLimit(**doc) if "by" in doc else Limit(**doc)


@dataclass
class _Node:
    """A YAML value with the line it starts on (1-based)."""

    value: Any
    line: int


def load_yaml(name: str, data: bytes) -> _Node:
    """Read a YAML file of ours (catalog, bundle) into line-aware nodes; refuse oversize, non-UTF-8, bad YAML."""
    if len(data) > MAX_CATALOG_BYTES:
        raise DefinitionRejected(f"{name} 超过 {MAX_CATALOG_BYTES // 1000} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DefinitionRejected(f"{name} 不是 UTF-8 文本") from None
    hidden = bidi_lines(text)
    if not hidden:
        root = _compose(text, name)
        # An escape in a quoted scalar ("\u202e") holds no control in the text, only in the value it reads as.
        hidden = sorted(set(_bidi_value_lines(root)))
        if not hidden:
            return root
    # A matter or bundle name shown reversed at every window (Trojan Source), as BPMN and forms refuse.
    raise DefinitionRejected(f"{name} 第 {hidden[0]} 行：{BIDI_WHAT}", details={"findings": [
        Finding("TB_CATALOG_BIDI_TEXT", BIDI_WHAT, None, line=line, file=name).to_dict() for line in hidden]})


def _bidi_value_lines(node: _Node | None) -> Iterator[int]:
    """The lines of the keys and text values holding a bidirectional control, walking the composed nodes."""
    todo = [node] if node is not None else []
    while todo:
        current = todo.pop()
        value = current.value
        if isinstance(value, str) and BIDI_CONTROLS.search(value):
            yield current.line
        elif isinstance(value, dict):
            for key, child in value.items():
                if isinstance(key, str) and BIDI_CONTROLS.search(key):
                    yield child.line
                todo.append(child)
        elif isinstance(value, list):
            todo.extend(value)


def _compose(text: str, name: str) -> _Node:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise DefinitionRejected(f"{name} 第 {line} 行：YAML 格式错误", details={"findings": [
            Finding("TB_CATALOG_YAML", "YAML 格式错误，无法解析" + detail(getattr(exc, "problem", None) or exc,
                                                                      line=line or None), None, line=line,
                    file=name).to_dict()]}) from None
    except RecursionError:   # PyYAML composes nested collections recursively: "[[[[...]]]]" runs out of stack
        loader.dispose()
        raise DefinitionRejected(f"{name}：YAML 嵌套过深，无法解析", details={"findings": [
            Finding("TB_CATALOG_YAML", "YAML 嵌套过深，无法解析", None, file=name).to_dict()]}) from None
    budget = [MAX_NODES]
    try:
        return _convert(root, loader, budget) if root is not None else _Node(None, 1)
    except _BadValue as exc:
        raise DefinitionRejected(f"{name} 第 {exc.line} 行：{exc.message}", details={"findings": [
            Finding("TB_CATALOG_FIELD", exc.message, None, line=exc.line, file=name).to_dict()]}) from None
    except RecursionError:
        budget[0] = -1
    finally:
        loader.dispose()
    raise DefinitionRejected(f"{name}：内容过于庞大或嵌套过深（超过 {MAX_NODES} 个值，可能是 YAML 别名展开）")


class _BadValue(Exception):
    """A well-formed YAML value that cannot be read (``2026-02-30``, ``!!int abc``, a list as a key)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _convert(node: yaml.Node, loader: yaml.SafeLoader, budget: list[int]) -> _Node:
    """Turn a composed YAML node into values that remember their line; aliases count each time they expand."""
    budget[0] -= 1
    if budget[0] < 0:
        raise RecursionError
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, loader)
            try:
                hash(key)
            except TypeError:
                raise _BadValue(key_node.start_mark.line + 1, "键应为文字或数字，不能是列表或映射") from None
            out[key] = _convert(value_node, loader, budget)
        return _Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(item, loader, budget) for item in node.value], line)
    return _Node(_construct(node, loader), line)


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """Build one value; a value PyYAML recognises but cannot build is refused with its line, not a traceback."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        raise _BadValue(node.start_mark.line + 1, f"不支持的 YAML 标签 {node.tag}" + detail(exc.problem)) from None
    except (ValueError, TypeError, OverflowError) as exc:   # e.g. datetime.date(2026, 2, 30)
        text = node.value if isinstance(node, yaml.ScalarNode) else ""
        what = "日期或时间" if node.tag.endswith(":timestamp") else f" {node.tag.rsplit(':', 1)[-1]} 值"
        raise _BadValue(node.start_mark.line + 1, f"{text!r} 不是有效的{what}；若是文字请加引号"
                        + detail(exc)) from None


class _Checker:
    """Collects findings for one file, each with its line."""

    def __init__(self, name: str):
        self.name = name
        self.findings: list[Finding] = []

    def fail(self, code: str, message: str, line: int, element: str | None = None) -> None:
        self.findings.append(Finding(code, message, element, line=line, file=self.name))

    def text(self, entry: dict[str, _Node], key: str, line: int, *, required: bool = True,
             pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        node = entry.get(key)
        if node is None or node.value is None or node.value == "":
            if required:
                self.fail("TB_CATALOG_FIELD", f"缺少 {key}（{what}）", line)
            return None
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail("TB_CATALOG_FIELD", f"{key}（{what}）应为文字", node.line)
            return None
        value = value.strip()
        if pattern is not None and not pattern.match(value):
            self.fail("TB_CATALOG_FIELD", f"{key}（{what}）取值 {value!r} 格式不正确", node.line)
            return None
        return value

    def flag(self, entry: dict[str, _Node], key: str, default: bool) -> bool:
        node = entry.get(key)
        if node is None or node.value is None:
            return default
        if not isinstance(node.value, bool):
            self.fail("TB_CATALOG_FIELD", f"{key} 应为 true 或 false", node.line)
            return default
        return node.value

    def limit(self, node: _Node | None, key: str, what: str, line: int) -> Limit | None:
        if node is None:
            self.fail("TB_CATALOG_FIELD", f"缺少 {key}（{what}）", line)
            return None
        value = node.value
        if not isinstance(value, dict) or set(value) - {"amount", "unit"} or "amount" not in value:
            self.fail("TB_CATALOG_LIMIT", f"{key}（{what}）应写成 {{amount: 天数, unit: workday|day}}", node.line)
            return None
        amount, unit = value["amount"].value, value.get("unit", _Node("workday", node.line)).value
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_LIMIT_DAYS:
            self.fail("TB_CATALOG_LIMIT", f"{key}（{what}）天数 {amount!r} 无效：应为 0 至 {MAX_LIMIT_DAYS} 的整数",
                      value["amount"].line)
            return None
        if unit not in UNITS:
            self.fail("TB_CATALOG_LIMIT", f"{key}（{what}）单位 {unit!r} 无效：应为 workday（工作日）或 day（自然日）",
                      node.line)
            return None
        return Limit(amount, unit)


def parse_catalog(name: str, data: bytes, *, known_districts: Iterable[str] = ()) -> list[Matter]:
    """Parse and validate one catalog file; raise :class:`DefinitionRejected` listing every problem.

    ``known_districts`` (codes), when given, is the list district codes must come from; a :class:`KnownOrg`
    also has a matter's ``department`` checked against the departments of the districts offering it.
    """
    root = load_yaml(name, data)
    check = _Checker(name)
    entries = root.value.get("matters") if isinstance(root.value, dict) else None
    if entries is None or not isinstance(entries.value, list) or not entries.value:
        check.fail("TB_CATALOG_FIELD", "文件应以 matters: 开头，列出至少一个事项", root.line)
        _raise(check)
    districts = known_districts if isinstance(known_districts, KnownOrg) else frozenset(known_districts)
    matters, codes = [], {}
    for node in entries.value:
        matter = _matter(check, node, districts)
        if matter is None:
            continue
        if matter.code in codes:
            check.fail("TB_CATALOG_DUPLICATE", f"实施编码 {matter.code} 与第 {codes[matter.code]} 行的事项重复",
                       matter.line, matter.code)
            continue
        codes[matter.code] = matter.line
        matters.append(matter)
    _raise(check)
    return matters


FACT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
"""A fact's name: a variable the diagrams read (lower case, digits, underscores)."""
_OWN_FIELDS = frozenset({"department", "substantive_check"})


def _facts(check: _Checker, node: _Node | None) -> dict[str, Any]:
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


def _matter(check: _Checker, node: _Node, districts: frozenset[str]) -> Matter | None:
    if not isinstance(node.value, dict):
        check.fail("TB_CATALOG_FIELD", "每个事项应为一组 键: 值", node.line)
        return None
    entry, line, before = node.value, node.line, len(check.findings)
    known = {"code", "basic_code", "name", "type", "basis", "level", "handling", "legal_limit", "committed_limit",
             "process", "modes", "districts", "materials", "overrides", "agency", "lights", "handoff", "department",
             "substantive_check", "facts"}
    for key in set(entry) - known:
        check.fail("TB_CATALOG_FIELD", f"未知字段 {key}；可用字段：{'、'.join(sorted(known))}", entry[key].line)
    code = check.text(entry, "code", line, what="实施编码", pattern=re.compile(r"^[0-9A-Za-z_.-]{1,64}$"))
    name = check.text(entry, "name", line, what="事项名称")
    if name is not None and len(name) > MAX_NAME:
        check.fail("TB_CATALOG_FIELD", f"name（事项名称）过长：{len(name)} 个字符，上限 {MAX_NAME}", entry["name"].line)
    check.text(entry, "basic_code", line, what="基本编码", pattern=re.compile(r"^[0-9A-Za-z_.-]{1,64}$"))
    check.text(entry, "type", line, what="事项类型代码（GB/T 39046 A.1，两位数字）", pattern=TYPE_CODE)
    check.text(entry, "basis", line, what="设定依据")
    level = entry.get("level")
    if level is None or level.value not in range(1, 8) or isinstance(level.value, bool):
        check.fail("TB_CATALOG_FIELD", "level（行使层级代码 GB/T 39046 A.2）应为 1 至 7", level.line if level else line)
    handling = check.text(entry, "handling", line, what="办件类型 instant|commitment")
    if handling is not None and handling not in HANDLING:
        check.fail("TB_CATALOG_FIELD", f"handling 应为 instant（即办件）或 commitment（承诺件），不是 {handling!r}",
                   entry["handling"].line)
    process = check.text(entry, "process", line, what="办理流程的 process key", pattern=PROCESS_KEY)
    legal = check.limit(entry.get("legal_limit"), "legal_limit", "法定时限", line)
    committed: Limit | CategoryLimit | None
    if is_category_node(entry.get("committed_limit")):
        committed = parse_category_limit(check, entry["committed_limit"], "committed_limit（承诺时限）")
    else:
        committed = check.limit(entry.get("committed_limit"), "committed_limit", "承诺时限", line)
    if legal and isinstance(committed, Limit):
        # A limit per project category is not compared: 工改's spans the project, the legal one each stage.
        _not_longer(check, committed, legal, entry["committed_limit"].line, "承诺时限", "法定时限")
    if handling == "instant" and committed and (isinstance(committed, CategoryLimit) or committed.amount != 0):
        check.fail("TB_CATALOG_LIMIT", "即办件的承诺时限应为 0（当场办结）", entry["committed_limit"].line)
    modes = _modes(check, entry.get("modes"), line)
    offered = _districts(check, entry.get("districts"), line, districts)
    materials = _materials(check, entry.get("materials"), line)
    overrides = _overrides(check, entry.get("overrides"), districts, committed)
    lights = _lights(check, entry.get("lights"))
    handoff = check_handoff(check, entry.get("handoff"), modes, PROCESS_KEY)
    if handoff is not None and isinstance(committed, CategoryLimit):
        # The owning district's case of a handoff starts its clocks at once, before any category target exists.
        check.fail("TB_CATALOG_HANDOFF", "承诺时限按项目类别确定的事项不能配置 handoff（异地代收代办）：业务属地的办件"
                   "一收到即起算，无法先按项目类别取得承诺时限", entry["handoff"].line)
    department = check.text(entry, "department", line, required=False, pattern=DEPARTMENT_CODE,
                            what="承办部门代码，小写字母开头，2 至 40 个字符")
    if department is not None and isinstance(districts, KnownOrg):
        _department_known(check, department, offered, districts, entry["department"].line)
    substantive = entry.get("substantive_check")
    if substantive is not None and not isinstance(substantive.value, bool):
        check.fail("TB_CATALOG_FIELD", "substantive_check（是否须两名以上工作人员实质核查）应为 true 或 false",
                   substantive.line)
    facts = _facts(check, entry.get("facts"))
    if len(check.findings) > before or None in (code, name, handling, process, legal, committed):
        return None
    doc = {"code": code, "basic_code": entry["basic_code"].value and str(entry["basic_code"].value), "name": name,
           "type": str(entry["type"].value), "basis": entry["basis"].value, "level": entry["level"].value,
           "handling": handling, "legal_limit": legal.to_dict(), "committed_limit": committed.to_dict(),
           "process": process, "modes": list(modes), "districts": "all" if offered is None else list(offered),
           "materials": [m.to_dict() for m in materials], "overrides": overrides,
           "agency": entry["agency"].value if "agency" in entry else None, "lights": lights}
    if handoff is not None:
        doc["handoff"] = handoff
    if department:
        doc["department"] = department  # only when given, so entries without it keep their content hash
    if substantive is not None:
        doc["substantive_check"] = substantive.value  # likewise
    if facts:
        doc["facts"] = facts  # likewise
    return Matter(code, name, process, handling, legal, committed, modes, offered, materials, overrides, doc,
                  check.name, line, entry["committed_limit"].line)


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


def _department_known(check: _Checker, department: str, offered: tuple[str, ...] | None, org: KnownOrg,
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


def _not_longer(check: _Checker, shorter: Limit, longer: Limit, line: int, what: str, than: str) -> None:
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


def _modes(check: _Checker, node: _Node | None, line: int) -> tuple[str, ...]:
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


def _districts(check: _Checker, node: _Node | None, line: int, known: frozenset[str]) -> tuple[str, ...] | None:
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
        if not _district_ok(code, known):
            check.fail("TB_CATALOG_DISTRICT", f"区县代码 {code} 不存在", item.line, code)
        elif code not in codes:
            codes.append(code)
    return tuple(codes)


def _district_ok(code: str, known: frozenset[str]) -> bool:
    return code in known if known else bool(DISTRICT_CODE.match(code))


def _materials(check: _Checker, node: _Node | None, line: int) -> tuple[Material, ...]:
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


def _overrides(check: _Checker, node: _Node | None, known: frozenset[str],
               committed: Limit | CategoryLimit | None) -> dict[str, dict[str, Any]]:
    if node is None or node.value is None:
        return {}
    if not isinstance(node.value, dict):
        check.fail("TB_CATALOG_FIELD", "overrides 应以区县代码为键", node.line)
        return {}
    out: dict[str, dict[str, Any]] = {}
    for district, value in node.value.items():
        code = str(district)
        if not _district_ok(code, known):
            check.fail("TB_CATALOG_DISTRICT", f"overrides 中的区县代码 {code} 不存在", value.line, code)
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
                _not_longer(check, limit, committed, entry["committed_limit"].line, f"区县 {code} 的承诺时限",
                            "事项的承诺时限")
                override["committed_limit"] = limit.to_dict()
        out[code] = override
    return out


def _lights(check: _Checker, node: _Node | None) -> dict[str, Any] | None:
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


def _raise(check: _Checker) -> None:
    if check.findings:
        first = check.findings[0]
        raise DefinitionRejected(f"{check.name} 第 {first.line} 行：{first.message}"
                                 + (f"（另有 {len(check.findings) - 1} 处问题）" if len(check.findings) > 1 else ""),
                                 details={"findings": [f.to_dict() for f in check.findings]})


@dataclass
class CatalogCheck:
    """Cross-file checks of a deploy: every matter's process exists; codes are unique across files."""

    matters: list[Matter] = field(default_factory=list)

    def add(self, new: list[Matter]) -> None:
        """Add one file's matters, refusing a code already defined by another file of the same deploy."""
        seen = {m.code: m for m in self.matters}
        clashes = [Finding("TB_CATALOG_DUPLICATE", f"实施编码 {m.code} 已在 {seen[m.code].source_name} 第 "
                           f"{seen[m.code].line} 行定义", m.code, line=m.line, file=m.source_name).to_dict()
                   for m in new if m.code in seen]
        if clashes:
            raise DefinitionRejected(f"{new[0].source_name}：{clashes[0]['message']}", details={"findings": clashes})
        self.matters += new

    def require_processes(self, exists: Any) -> None:
        """Refuse matters whose process key neither is deployed nor comes with this deploy."""
        missing = [Finding("TB_CATALOG_PROCESS", f"事项 {m.name} 的办理流程 {m.process_key} 不存在（未部署）",
                           m.code, line=m.line, file=m.source_name).to_dict()
                   for m in self.matters if not exists(m.process_key)]
        missing += [Finding("TB_CATALOG_PROCESS", f"事项 {m.name} 的异地代收代办流程 {m.handoff['process']} 不存在"
                                                  "（未部署）", m.code, line=m.line, file=m.source_name).to_dict()
                    for m in self.matters if m.handoff and not exists(m.handoff["process"])]
        if missing:
            first = missing[0]
            raise DefinitionRejected(f"{first['file']} 第 {first['line']} 行：{first['message']}",
                                     details={"findings": missing})

    def require_category_clocks(self, clocks_of: Any, categories: Mapping[str, str]) -> None:
        """Refuse matters whose committed limit is set per project category that their process cannot keep.

        The process must take its committed clock's length from the case data (``amountFrom``) and the engine
        must have loaded the category targets (see :func:`engine.category_limit.category_findings`).
        """
        found = [f.to_dict() for f in category_findings(self.matters, clocks_of, categories)]
        if found:
            first = found[0]
            raise DefinitionRejected(f"{first['file']} 第 {first['line']} 行：{first['message']}",
                                     details={"findings": found})
