"""Dry-run scenarios: who completes which task with which data, clock moves, and what must then hold.

Scenario files live next to the diagram (``processes/<key>/scenarios/*.yaml``)::

    name: 当场受理，审查通过，发证送达
    process: standard_permit                   # optional when the diagram has one executable process
    start:
      at: 2026-11-23T09:00:00+08:00            # default Monday 2026-11-23 09:00 CST; a date means 09:00 CST
      by: window_clerk@500103/zwzx             # role@district[/department][#n] or a user name
      owning: "500103"                         # 业务属地; default: the starter's district
      receiving: "500103"                      # 收件地; default: the starter's district
      data: {department: zhujian}
    steps:
      - complete: receive                      # element id of an open user task
        by: window_clerk@500103/zwzx
        data: {handling_mode: standard}
      - advance: 5 workdays                    # or days, hours, minutes (工作日, 天, 小时, 分钟)
      - to: 2026-12-01                         # a date (09:00 CST) or an instant; due timers fire
      - suspend: correction                    # pause clocks (correction, special_procedure, tolerance)
        by: window_clerk@500103
        reason: 申请人补正材料
      - suspend: special_procedure             # a 特别程序 names its procedure (第四十五条) and expected days
        by: reviewer@500103/zhujian
        procedure: 专家评审
        expected_days: 10
      - resume: [legal, committed]
        by: window_clerk@500103
      - return: review                         # 退回 the open task at this element to the step before
        by: reviewer@500103/zhujian
        reason: 材料不全
      - expect:
          tasks: [formal_review]               # exactly these open tasks (element ids, repeats for instances)
          ended: false
          path_contains: [receive]             # elements passed at least once
          path_excludes: [end_not_accepted]
          due: {legal: 2026-12-21, committed: 2026-12-07, formal_review: 2026-11-30}   # last days; null: none

Every problem is reported with its line; nothing runs when a scenario is invalid.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Mapping

from .catalog import _Node, load_yaml
from .clock import CST
from .errors import DefinitionRejected, InvalidInput
from .legal_clock_records import ClockInvalid, ClockKind
from .legal_clock_rules import check_pause_terms
from .org_file import ROLES

DEFAULT_START = datetime(2026, 11, 23, 9, 0, tzinfo=CST)
STEP_KINDS = ("complete", "advance", "to", "expect", "suspend", "resume", "return")
EXPECT_KEYS = ("tasks", "ended", "path_contains", "path_excludes", "due")
SUSPEND_KINDS = ("correction", "special_procedure", "tolerance")
CLOCK_KINDS = tuple(kind.value for kind in ClockKind)
_ALLOWED = {"complete": {"by", "data"}, "advance": set(), "to": set(), "expect": set(),
            "suspend": {"by", "reason", "clocks", "procedure", "expected_days"}, "resume": {"by"},
            "return": {"by", "reason"}}
_ADVANCE = re.compile(r"^\s*(\d{1,4})\s*(workdays?|days?|hours?|minutes?|个?工作日|天|日|小时|分钟)\s*$")
_UNITS = {"workday": "workdays", "工作日": "workdays", "个工作日": "workdays", "day": "days", "天": "days",
          "日": "days", "hour": "hours", "小时": "hours", "minute": "minutes", "分钟": "minutes"}
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
_ELEMENT = re.compile(r"^[A-Za-z_][\w.-]{0,127}\Z")


class ScenarioInvalid(InvalidInput):
    """A scenario file was refused; ``details["findings"]`` lists every problem with its line."""

    code = "SCENARIO_INVALID"


@dataclass(frozen=True)
class Who:
    """Who acts: a real user (``username``) or a stand-in holding ``role`` in ``district``/``department``."""

    text: str
    username: str | None = None
    role: str | None = None
    district: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class Step:
    """One step: its number (1-based), line, kind and arguments (already checked)."""

    index: int
    line: int
    kind: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Scenario:
    """A checked scenario, ready to run."""

    name: str
    process: str | None
    start_at: datetime
    starter: Who
    owning: str | None
    receiving: str | None
    data: Mapping[str, Any]
    steps: tuple[Step, ...] = field(default_factory=tuple)


def parse_scenario(name: str, data: bytes) -> Scenario:
    """Read and check a scenario file; raise :class:`ScenarioInvalid` listing every problem with its line."""
    try:
        root = load_yaml(name, data)
    except DefinitionRejected as exc:
        findings = [{**f, "code": "SCENARIO_YAML"} for f in exc.details.get("findings", [])]
        raise ScenarioInvalid(exc.message, details={"findings": findings or [_finding(name, exc.message, 0)]}) \
            from None
    checker = _Check(name)
    doc = checker.mapping(root, "场景文件", {"name", "process", "start", "steps"})
    start = checker.mapping(doc.get("start", _Node({}, root.line)), "start", {"at", "by", "owning", "receiving",
                                                                             "data"})
    starter = checker.who(start.get("by", _Node("window_clerk@500103", root.line)))
    scenario = Scenario(
        name=str(_value(doc.get("name")) or name), process=checker.text(doc.get("process"), "process"),
        start_at=checker.instant(start.get("at"), "start.at") or DEFAULT_START, starter=starter,
        owning=checker.text(start.get("owning"), "start.owning"),
        receiving=checker.text(start.get("receiving"), "start.receiving"),
        data=checker.plain(start.get("data"), "start.data") or {}, steps=checker.steps(doc.get("steps")))
    if checker.findings:
        findings = sorted(checker.findings, key=lambda f: f["line"])
        raise ScenarioInvalid(findings[0]["message"], details={"findings": findings})
    return scenario


def _finding(name: str, message: str, line: int) -> dict[str, Any]:
    return {"code": "SCENARIO_INVALID", "message": message, "element_id": None, "severity": "error",
            "file": name, "line": line}


def _value(node: _Node | None) -> Any:
    return None if node is None else node.value


def plain(node: Any) -> Any:
    """Strip line information from a node tree."""
    if isinstance(node, _Node):
        return plain(node.value)
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


class _Check:
    """Collects problems, each with its line, while reading a scenario."""

    def __init__(self, name: str):
        self.name = name
        self.findings: list[dict[str, Any]] = []

    def fail(self, message: str, line: int) -> None:
        self.findings.append(_finding(self.name, f"{self.name} 第 {line} 行：{message}", line))

    def mapping(self, node: _Node, what: str, keys: set[str]) -> dict[str, _Node]:
        if not isinstance(node.value, dict):
            self.fail(f"{what} 应为键值映射", node.line)
            return {}
        for key in node.value:
            if key not in keys:
                self.fail(f"{what} 中有未知的键 {key}（可用：{'、'.join(sorted(keys))}）", node.value[key].line)
        return {k: v for k, v in node.value.items() if k in keys}

    def text(self, node: _Node | None, what: str, pattern: re.Pattern[str] | None = None) -> str | None:
        if node is None or node.value is None:
            return None
        value = str(node.value) if isinstance(node.value, (str, int)) and not isinstance(node.value, bool) else None
        if value is None or not value.strip() or (pattern is not None and not pattern.match(value)):
            self.fail(f"{what} 的值 {node.value!r} 无效", node.line)
            return None
        return value.strip()

    def plain(self, node: _Node | None, what: str) -> dict[str, Any] | None:
        if node is None or node.value is None:
            return None
        if not isinstance(node.value, dict):
            self.fail(f"{what} 应为键值映射（表单数据）", node.line)
            return None
        return _jsonable(plain(node))

    def who(self, node: _Node) -> Who:
        text = self.text(node, "by（办理人）") or ""
        if "@" in text:
            # "reviewer@500103/zhujian#2" is a second stand-in of the same group (职责分离 needs two people).
            role, _, place = text.split("#", 1)[0].partition("@")
            district, _, department = place.partition("/")
            if role not in ROLES or not district:
                self.fail(f"办理人 {text} 应写成 角色@区县[/部门]，角色为 {'、'.join(ROLES)} 之一", node.line)
            return Who(text, role=role, district=district or None, department=department or None)
        if text and not _USERNAME.match(text):
            self.fail(f"办理人 {text} 不是有效的用户名", node.line)
        return Who(text, username=text or None)

    def instant(self, node: _Node | None, what: str) -> datetime | None:
        if node is None or node.value is None:
            return None
        value = node.value
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value) if "T" in value or " " in value.strip() \
                    else date.fromisoformat(value)
            except ValueError:
                self.fail(f"{what} 的时间 {node.value!r} 无效（应为 2026-12-01 或 2026-12-01T09:00:00+08:00）",
                          node.line)
                return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=CST)
        if isinstance(value, date):
            return datetime.combine(value, time(9, 0), tzinfo=CST)
        self.fail(f"{what} 的时间 {node.value!r} 无效", node.line)
        return None

    def steps(self, node: _Node | None) -> tuple[Step, ...]:
        if node is None or not isinstance(node.value, list) or not node.value:
            self.fail("steps 应为非空列表", node.line if node is not None else 1)
            return ()
        return tuple(step for i, item in enumerate(node.value, 1) if (step := self.step(i, item)) is not None)

    def step(self, index: int, node: _Node) -> Step | None:
        if not isinstance(node.value, dict):
            self.fail(f"第 {index} 步应为键值映射", node.line)
            return None
        kinds = [k for k in node.value if k in STEP_KINDS]
        if len(kinds) != 1:
            self.fail(f"第 {index} 步应恰有一个动作（{'、'.join(STEP_KINDS)}）", node.line)
            return None
        kind = kinds[0]
        entry = self.mapping(node, f"第 {index} 步（{kind}）", {kind} | _ALLOWED[kind])
        args = getattr(self, f"_{kind}")(entry[kind], entry, index)
        return None if args is None else Step(index, node.line, kind, args)

    def _actor(self, entry: dict[str, _Node], index: int, line: int) -> Who | None:
        if "by" not in entry:
            self.fail(f"第 {index} 步缺少 by（由谁办理）", line)
            return None
        return self.who(entry["by"])

    def _complete(self, node: _Node, entry: dict[str, _Node], index: int) -> dict[str, Any] | None:
        element = self.text(node, "complete（环节 id）", _ELEMENT)
        return {"element": element, "by": self._actor(entry, index, node.line),
                "data": self.plain(entry.get("data"), "data") or {}}

    def _return(self, node: _Node, entry: dict[str, _Node], index: int) -> dict[str, Any] | None:
        element = self.text(node, "return（环节 id）", _ELEMENT)
        return {"element": element, "by": self._actor(entry, index, node.line),
                "reason": self.text(entry.get("reason"), "reason") or "退回补充"}

    def _advance(self, node: _Node, entry: dict[str, _Node], index: int) -> dict[str, Any] | None:
        match = _ADVANCE.match(str(node.value))
        if match is None:
            self.fail(f"advance 的值 {node.value!r} 无效，应如 5 workdays、3 days、4 hours", node.line)
            return None
        unit = match.group(2)
        return {"amount": int(match.group(1)), "unit": _UNITS.get(unit.rstrip("s"), _UNITS.get(unit, unit))}

    def _to(self, node: _Node, entry: dict[str, _Node], index: int) -> dict[str, Any] | None:
        instant = self.instant(node, "to")
        return None if instant is None else {"at": instant}

    def _suspend(self, node: _Node, entry: dict[str, _Node], index: int) -> dict[str, Any] | None:
        kind = self.text(node, "suspend")
        if kind not in SUSPEND_KINDS:
            self.fail(f"suspend 应为 {'、'.join(SUSPEND_KINDS)} 之一", node.line)
        procedure = self.text(entry.get("procedure"), "procedure") or ""
        days = plain(entry["expected_days"]) if "expected_days" in entry else None
        try:
            check_pause_terms(kind, procedure, days)
        except ClockInvalid as exc:
            self.fail(exc.message, (entry.get("procedure") or entry.get("expected_days") or node).line)
        return {"kind": kind, "by": self._actor(entry, index, node.line), "clocks": self.clocks(entry.get("clocks")),
                "reason": self.text(entry.get("reason"), "reason") or "演练：暂停计时", "procedure": procedure,
                "expected_days": days}

    def _resume(self, node: _Node, entry: dict[str, _Node], index: int) -> dict[str, Any] | None:
        return {"clocks": self.clocks(node), "by": self._actor(entry, index, node.line)}

    def clocks(self, node: _Node | None) -> tuple[str, ...]:
        if node is None or node.value in (None, "all", True):
            return CLOCK_KINDS
        values = plain(node)
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not values or any(v not in CLOCK_KINDS for v in values):
            self.fail("clocks 应为 legal、committed 或两者的列表", node.line)
            return CLOCK_KINDS
        return tuple(values)

    def _expect(self, node: _Node, entry: dict[str, _Node], index: int) -> dict[str, Any] | None:
        expect = self.mapping(node, "expect", set(EXPECT_KEYS))
        out: dict[str, Any] = {}
        for key in ("tasks", "path_contains", "path_excludes"):
            if key in expect:
                values = plain(expect[key])
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    self.fail(f"expect.{key} 应为环节 id 列表", expect[key].line)
                    continue
                out[key] = values
        if "ended" in expect:
            if not isinstance(expect["ended"].value, bool):
                self.fail("expect.ended 应为 true 或 false", expect["ended"].line)
            out["ended"] = expect["ended"].value
        if "due" in expect:
            due = self.mapping(expect["due"], "expect.due", set(expect["due"].value or {}))
            out["due"] = {key: None if value.value is None else self._due_value(value, key)
                          for key, value in due.items()}
        if not out and not self.findings:
            self.fail("expect 至少要有一项期望", node.line)
        return out

    def _due_value(self, node: _Node, key: str) -> Any:
        value = node.value
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and "T" not in value:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return self.instant(node, f"expect.due.{key}")


def _jsonable(value: Any) -> Any:
    """Form data as JSON would carry it: dates become ISO strings."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
