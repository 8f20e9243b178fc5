"""工改 overall time targets: working days per project category, by the date they took effect.

The targets live in a data file next to the diagram that uses them (``processes/gongcheng/targets.yaml``),
never in code: the figures differ by year and several are unverified (DOMAIN §4.2, §10.5). A category
has one or more rows; the row that applies on a day is the latest whose ``from`` is on or before it.
``joins`` (optional) says per stage whether its parallel approvals join ALL (default) or ANY::

    categories:
      social:
        name: 一般社会投资项目
        joins: {s1: ANY}
        targets:
          - {from: 2019-04-01, workdays: 50, basis: 2019 年 4 月重庆口径}
          - {from: 2020-01-01, workdays: 45, basis: ...}

Diagrams read them with the expression function ``project_target(category, day)``, which returns the row
as a dict (``category``, ``name``, ``workdays``, ``from``, ``basis``, ``joins``) for the case data, so a running case
keeps the target it was received under when the file changes later.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import yaml

from .errors import ExpressionFailed

CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
FILE_NAME = "targets.yaml"
JOINS = ("ALL", "ANY")


class TargetFileInvalid(ValueError):
    """A targets file does not follow the format; the message says where, in Chinese."""


@dataclass(frozen=True)
class Target:
    """One row: ``workdays`` for ``category`` from ``effective_from`` on, and where the figure comes from."""

    category: str
    name: str
    workdays: int
    effective_from: date
    basis: str
    joins: tuple[tuple[str, str], ...] = ()
    """Per stage, how its parallel approvals join: ``ALL`` (every one) or ``ANY`` (the first one)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-native shape stored in the case data."""
        return {"category": self.category, "name": self.name, "workdays": self.workdays,
                "from": self.effective_from.isoformat(), "basis": self.basis, "joins": dict(self.joins)}


class TargetTable:
    """Every category's rows, oldest first; look a target up by category and day."""

    def __init__(self, rows: Iterable[Target] = ()):
        rows = list(rows)
        self._rows: dict[str, list[Target]] = {code: [] for code in dict.fromkeys(r.category for r in rows)}
        for row in sorted(rows, key=lambda r: r.effective_from):   # categories keep the file's order
            self._rows[row.category].append(row)

    @property
    def categories(self) -> dict[str, str]:
        """Return the category codes with their Chinese names."""
        return {code: rows[-1].name for code, rows in self._rows.items()}

    def in_force(self, on: date) -> list[Target]:
        """Return each category's row in force on ``on``, in the file's order (a category not yet in force: none)."""
        rows = ([r for r in rows if r.effective_from <= on] for rows in self._rows.values())
        return [found[-1] for found in rows if found]

    def target(self, category: str, on: date) -> Target:
        """Return the row of ``category`` in force on ``on``.

        Raises:
            ExpressionFailed: the category is unknown, or none of its rows is in force yet on ``on``.
        """
        rows = self._rows.get(category)
        if not rows:
            known = "、".join(f"{code}（{name}）" for code, name in self.categories.items()) or "（无）"
            raise ExpressionFailed(f"项目类别 {category!r} 未配置审批目标时限；可选：{known}",
                                   details={"reason": "unknown_category", "category": category})
        in_force = [r for r in rows if r.effective_from <= on]
        if not in_force:
            raise ExpressionFailed(f"项目类别 {rows[0].name} 在 {on.isoformat()} 尚无生效的审批目标时限"
                                   f"（最早自 {rows[0].effective_from.isoformat()} 起）",
                                   details={"reason": "not_in_force", "category": category})
        return in_force[-1]


def parse_targets(text: str, name: str = FILE_NAME) -> list[Target]:
    """Parse one targets file into rows.

    Raises:
        TargetFileInvalid: the YAML is malformed, or a category or row is incomplete or inconsistent.
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TargetFileInvalid(f"{name} 不是有效的 YAML：{exc}") from None
    except (ValueError, TypeError, OverflowError):   # well-formed but unreadable: 2026-02-30, a list as a key
        raise TargetFileInvalid(f"{name} 中有无法读取的值（如不存在的日期 2026-02-30）；文字请加引号") from None
    categories = doc.get("categories") if isinstance(doc, dict) else None
    if not isinstance(categories, dict) or not categories:
        raise TargetFileInvalid(f"{name} 应有非空的 categories 映射")
    rows: list[Target] = []
    for code, entry in categories.items():
        rows += _category(name, code, entry)
    return rows


def _category(name: str, code: Any, entry: Any) -> list[Target]:
    where = f"{name} 类别 {code}"
    if not isinstance(code, str) or not CATEGORY.match(code):
        raise TargetFileInvalid(f"{where}：类别代码应为小写字母、数字和下划线")
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
        raise TargetFileInvalid(f"{where}：缺少中文名称 name")
    if set(entry) - {"name", "joins", "targets"}:
        raise TargetFileInvalid(f"{where}：只能有 name、joins、targets")
    joins = entry.get("joins") or {}
    if not isinstance(joins, dict) or any(not isinstance(k, str) or not CATEGORY.match(k) or v not in JOINS
                                          for k, v in joins.items()):
        raise TargetFileInvalid(f"{where}：joins 应为 阶段: ALL|ANY 的映射")
    targets = entry.get("targets")
    if not isinstance(targets, list) or not targets:
        raise TargetFileInvalid(f"{where}：targets 应为非空列表")
    rows, seen = [], set()
    for row in targets:
        if not isinstance(row, dict) or set(row) - {"from", "workdays", "basis"}:
            raise TargetFileInvalid(f"{where}：每行只能有 from、workdays、basis")
        start, days, basis = row.get("from"), row.get("workdays"), row.get("basis")
        if not isinstance(start, date) or isinstance(days, bool) or not isinstance(days, int) \
                or not 0 < days <= 3650 or not isinstance(basis, str) or not basis.strip():
            raise TargetFileInvalid(f"{where}：from 应为日期，workdays 为 1 到 3650 的整数，basis 写明依据")
        if start in seen:
            raise TargetFileInvalid(f"{where}：生效日期 {start.isoformat()} 重复")
        seen.add(start)
        rows.append(Target(code, entry["name"].strip(), days, start, basis.strip(), tuple(sorted(joins.items()))))
    return rows


def load_targets(processes_dir: Path) -> TargetTable:
    """Read every ``targets.yaml`` under ``processes_dir`` into one table (no directory: an empty table).

    Raises:
        TargetFileInvalid: a file is invalid, or two files configure the same category.
    """
    rows: list[Target] = []
    owner: dict[str, Path] = {}
    paths = sorted(processes_dir.rglob(FILE_NAME)) if processes_dir.is_dir() else []
    for path in paths:
        parsed = parse_targets(path.read_text(encoding="utf-8"), str(path.relative_to(processes_dir)))
        for category in {r.category for r in parsed}:
            if category in owner:
                raise TargetFileInvalid(f"项目类别 {category} 在 {owner[category]} 和 {path} 中重复配置")
            owner[category] = path
        rows += parsed
    return TargetTable(rows)


def target_functions(table: TargetTable) -> Mapping[str, Callable[..., Any]]:
    """Return the expression function ``project_target(category, day)`` bound to ``table``."""

    def project_target(category: Any, day: Any) -> dict[str, Any]:
        """The target row of ``category`` in force on ``day`` (a date or YYYY-MM-DD text), as a dict."""
        if not isinstance(category, str):
            raise ExpressionFailed(f"项目类别应为文本，得到 {category!r}", details={"reason": "type"})
        try:
            on = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
        except ValueError:
            raise ExpressionFailed(f"日期 {day!r} 格式不正确，应为 YYYY-MM-DD", details={"reason": "value"}) from None
        return table.target(category, on).to_dict()

    return {"project_target": project_target}
