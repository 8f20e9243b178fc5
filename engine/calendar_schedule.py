"""Loading a year's holiday schedule: the administrator's YAML/CSV file and the ``chinesecalendar`` seed.

Split from :mod:`engine.calendar`, which re-exports every public name here; the arithmetic lives there.
Every problem in a file is reported at once, by line, with a Chinese message (``CALENDAR_INVALID``).
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping

from .calendar import MAX_YEAR, MIN_YEAR, ONE_DAY, WEEKDAYS_ZH, CalendarInvalid, DayFact, DayKind
from .text_input import BIDI_WHAT, bidi_lines

def content_hash(facts: Mapping[date, DayFact]) -> str:
    """Return the sha256 of a year's facts (dates, kinds and notes; not the source or who loaded it)."""
    rows = sorted([day.isoformat(), fact.kind.value, fact.note] for day, fact in facts.items())
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class YearSchedule:
    """One year's published schedule, validated.

    Attributes:
        year: the calendar year every fact belongs to.
        source: where it comes from, e.g. "国办发明电〔2025〕7号" or "chinesecalendar 1.11.0".
        facts: the dated facts of the year.
    """

    year: int
    source: str
    facts: Mapping[date, DayFact]

    @property
    def content_hash(self) -> str:
        """The sha256 of the facts; equal hashes mean an import changes nothing."""
        return content_hash(self.facts)


def facts_from_chinesecalendar(years: Iterable[int] | None = None) -> list[YearSchedule]:
    """Return the schedules the ``chinesecalendar`` package carries (2004–2026 in 1.11), one per year.

    Args:
        years: restrict to these years; by default every year the package covers.
    """
    from importlib.metadata import version

    from chinese_calendar import constants  # imported here: only seeding needs the package

    chinese = {holiday.value: holiday.chinese for holiday in constants.Holiday}
    by_year: dict[int, dict[date, DayFact]] = {}
    for day, name in constants.holidays.items():
        kind = DayKind.DAYOFF if day in constants.in_lieu_days else DayKind.HOLIDAY
        by_year.setdefault(day.year, {})[day] = DayFact(kind, chinese.get(name, name))
    for day, name in constants.workdays.items():
        by_year.setdefault(day.year, {})[day] = DayFact(DayKind.MAKEUP_WORKDAY, chinese.get(name, name))
    wanted = set(by_year) if years is None else set(years)
    source = f"chinesecalendar {version('chinesecalendar')}"
    return [YearSchedule(year, source, by_year[year]) for year in sorted(wanted & set(by_year))]

_SECTIONS = {"holidays": DayKind.HOLIDAY, "workdays": DayKind.MAKEUP_WORKDAY, "dayoffs": DayKind.DAYOFF}
_CSV_KINDS = {"holiday": DayKind.HOLIDAY, "workday": DayKind.MAKEUP_WORKDAY, "dayoff": DayKind.DAYOFF}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class _Entry:
    line: int
    kind: DayKind
    first: str
    last: str
    name: str


def parse_schedule(text: str, fmt: str, *, year: int | None = None,
                   source: str | None = None) -> YearSchedule:
    """Parse and validate an administrator's file holding ONE year of the State Council schedule.

    YAML: ``year``, ``source``, ``holidays: [{date | from/to, name}]``, ``workdays: [{date, name}]`` and,
    optionally, ``dayoffs`` (调休放假 weekdays, if the administrator wants them told apart). CSV: a header
    ``date,kind,name`` with kind ``holiday``, ``workday`` or ``dayoff``, plus ``# year: 2027`` and
    ``# source: …`` comment lines.

    Args:
        text: the file's content.
        fmt: ``"yaml"`` or ``"csv"``.
        year: the year, for a file that does not declare it; must agree with the file when both do.
        source: the notice's reference, for a file that does not name it.

    Returns:
        The validated schedule.

    Raises:
        CalendarInvalid: listing every problem found (``details["problems"]``), each naming its line.
    """
    problems: list[str] = []
    text = text.lstrip("\ufeff")
    if fmt == "yaml":
        header, entries = _yaml_entries(text, problems)
    elif fmt == "csv":
        header, entries = _csv_entries(text, problems)
    else:
        raise CalendarInvalid(f"不支持的节假日安排格式 “{fmt}”：应为 yaml 或 csv")
    problems += [f"第 {line} 行：{BIDI_WHAT}" for line in bidi_lines(text)]
    declared = _declared_year(header.get("year"), year, problems)
    src = str(header.get("source") or source or "").strip()
    if not src:
        problems.append("未注明来源（source，如国务院办公厅通知文号）")
    elif len(src) > 128:
        problems.append("来源 source 超过 128 个字符")
    facts = _facts(entries, declared, problems)
    if not any(entry.kind is not DayKind.MAKEUP_WORKDAY for entry in entries):
        problems.append("未列出任何放假日期（holidays）")
    if problems or declared is None:
        raise CalendarInvalid(f"节假日安排有 {len(problems)} 处错误：" + "；".join(problems),
                              details={"problems": problems})
    return YearSchedule(declared, src, facts)


def _declared_year(in_file: object, given: int | None, problems: list[str]) -> int | None:
    if in_file is not None and given is not None and str(in_file).strip() != str(given):
        problems.append(f"文件声明的年份 {in_file} 与指定的年份 {given} 不一致")
    value = str(in_file if in_file is not None else given if given is not None else "").strip()
    if not value:
        problems.append("未声明年份（YAML 写 year: 2027，CSV 写 “# year: 2027” 行）")
        return None
    if not re.fullmatch(r"\d{4}", value) or not MIN_YEAR <= int(value) <= MAX_YEAR:
        problems.append(f"年份 “{value}” 无效：应为 {MIN_YEAR}–{MAX_YEAR} 之间的四位数")
        return None
    return int(value)


def _parse_day(raw: str, line: int, problems: list[str]) -> date | None:
    try:
        if _ISO_DAY.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    problems.append(f"第 {line} 行：日期 “{raw}” 无效，应为 YYYY-MM-DD 格式的真实日期")
    return None


def _facts(entries: list[_Entry], year: int | None, problems: list[str]) -> dict[date, DayFact]:
    facts: dict[date, DayFact] = {}
    seen: dict[date, _Entry] = {}
    for entry in entries:
        first = _parse_day(entry.first, entry.line, problems)
        last = _parse_day(entry.last, entry.line, problems) if entry.last != entry.first else first
        if first is None or last is None:
            continue
        if last < first:
            problems.append(f"第 {entry.line} 行：起止日期颠倒（{first} 晚于 {last}）")
            continue
        if len(entry.name) > 64:
            problems.append(f"第 {entry.line} 行：名称超过 64 个字符")
        day = first
        while day <= last:
            weekday = f"星期{WEEKDAYS_ZH[day.weekday()]}"
            if year is not None and day.year != year:
                problems.append(f"第 {entry.line} 行：{day} 不在声明的 {year} 年内")
                break
            if entry.kind is DayKind.MAKEUP_WORKDAY and day.weekday() < 5:
                problems.append(f"第 {entry.line} 行：调休上班日 {day} 是{weekday}，应为星期六或星期日")
            if entry.kind is DayKind.DAYOFF and day.weekday() >= 5:
                problems.append(f"第 {entry.line} 行：调休放假日 {day} 是{weekday}，应为星期一至星期五")
            other = seen.get(day)
            if other is None:
                seen[day], facts[day] = entry, DayFact(entry.kind, entry.name)
            elif (other.kind is DayKind.MAKEUP_WORKDAY) != (entry.kind is DayKind.MAKEUP_WORKDAY):
                problems.append(f"第 {entry.line} 行：{day} 与第 {other.line} 行矛盾，不能既放假又上班")
            else:
                problems.append(f"第 {entry.line} 行：{day} 与第 {other.line} 行重复或重叠")
            day += ONE_DAY
    return facts


def _yaml_entries(text: str, problems: list[str]) -> tuple[dict[str, object], list[_Entry]]:
    import yaml  # PyYAML is needed only to read YAML schedule files

    class LineLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode,  # type: ignore[override]
                              deep: bool = False) -> dict:
            mapping = super().construct_mapping(node, deep=deep)
            mapping["__line__"] = node.start_mark.line + 1
            return mapping

    # Dates stay strings: PyYAML would otherwise crash on 2027-02-30 before we can name its line.
    LineLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    try:
        doc = yaml.load(text, Loader=LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行：" if mark is not None else ""
        problems.append(f"{where}YAML 语法错误（{getattr(exc, 'problem', None) or exc}）")
        return {}, []
    if not isinstance(doc, dict):
        problems.append("YAML 顶层应为映射：year、source、holidays、workdays")
        return {}, []
    doc.pop("__line__", None)
    unknown = sorted(str(key) for key in doc if key not in ("year", "source", *_SECTIONS))
    if unknown:
        problems.append(f"未知的键 {'、'.join(unknown)}（可用：year、source、{'、'.join(_SECTIONS)}）")
    entries = []
    for key, kind in _SECTIONS.items():
        items = doc.get(key) or []
        for item in items if isinstance(items, list) else [items]:
            entry = _yaml_entry(key, kind, item, problems)
            entries += [entry] if entry is not None else []
    return doc, entries


def _yaml_entry(key: str, kind: DayKind, item: object, problems: list[str]) -> _Entry | None:
    if not isinstance(item, dict):
        problems.append(f"{key} 中的 “{item}” 应写成 {{date: …, name: …}} 或 {{from: …, to: …, name: …}}")
        return None
    line = int(item.pop("__line__", 0))
    extra = sorted(str(k) for k in set(item) - {"date", "from", "to", "name"})
    if extra:
        problems.append(f"第 {line} 行：未知的键 {'、'.join(extra)}")
    if "date" in item and "from" not in item and "to" not in item:
        first = last = str(item["date"])
    elif "from" in item and "to" in item and "date" not in item:
        first, last = str(item["from"]), str(item["to"])
    else:
        problems.append(f"第 {line} 行：应写 date，或同时写 from 和 to")
        return None
    return _Entry(line, kind, first, last, str(item.get("name") or "").strip())


def _csv_entries(text: str, problems: list[str]) -> tuple[dict[str, object], list[_Entry]]:
    header: dict[str, object] = {}
    entries: list[_Entry] = []
    columns: list[str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if raw.lstrip().startswith("#"):
            key, sep, value = raw.lstrip()[1:].replace("：", ":").partition(":")
            if sep and key.strip().lower() in ("year", "source"):
                header[key.strip().lower()] = value.strip()
            continue
        cells = [cell.strip() for cell in next(csv.reader([raw]))]
        if columns is None:
            columns = [cell.lower() for cell in cells]
            if columns not in (["date", "kind"], ["date", "kind", "name"]):
                problems.append(f"第 {number} 行：表头应为 date,kind,name")
                return header, []
            continue
        row = dict(zip(columns, cells))
        kind = _CSV_KINDS.get(row.get("kind", "").lower())
        if len(cells) > len(columns) or kind is None:
            problems.append(f"第 {number} 行：应为 日期,类型,名称 三列，类型为 holiday、workday 或 dayoff")
            continue
        entries.append(_Entry(number, kind, row.get("date", ""), row.get("date", ""), row.get("name", "")))
    if columns is None:
        problems.append("CSV 缺少表头行 date,kind,name")
    return header, entries
