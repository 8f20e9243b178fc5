"""The parts of a history document, each typed and checked: the case row, its events and the seeded rows.

:func:`history_of` builds the :class:`~engine.case_history.CaseHistory` of a document whose ``format``
:mod:`engine.history_file` has accepted, and raises :class:`KeyError`, :class:`TypeError` or
:class:`ValueError` with a Chinese message at the first part that is missing or malformed; the reader refuses
the file with it (``HISTORY_FILE_INVALID``). A message names its place counting from 1 (``第 3 个事件的
task_id``, ``seed.users 第 2 项的 display_name``) and echoes what it found bounded and escaped
(:mod:`engine.file_echo`).

The 办件编号 is shown in every verdict on the file, so beyond its type it must be one a tongban database can
hold: at most as long as its column, and without control characters (tongban numbers its cases itself).
"""
from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timezone
from typing import Any, Mapping

from sqlalchemy import Date, Table

from .case_history import CASE_COLUMNS, MATERIAL_COLUMNS, SENDER_COLUMNS, CaseHistory, StoredEvent
from .file_echo import has_control, place, shown, within
from .history_input import typed, typed_row
from .persistence.calendar_repository import DAY_COLUMNS, LostVersion
from .persistence.models import (
    CalendarDay, CalendarImport, CalendarReplacedDay, Case, CaseEvent, CaseMaterial, FormVersion, Grant, MatterVersion,
    ProcessDefinition, User,
)
from .persistence.types import UtcDateTime
from .replay_calendar import imports_problem, versions_problem

SEED_TABLES: dict[str, Table] = {
    "definitions": ProcessDefinition.__table__, "forms": FormVersion.__table__,
    "matters": MatterVersion.__table__, "grants": Grant.__table__, "users": User.__table__,
    "calendar": CalendarDay.__table__, "calendar_replaced": CalendarReplacedDay.__table__,
    "calendar_imports": CalendarImport.__table__, "materials": CaseMaterial.__table__,
}
SINCE = {"calendar_replaced": 3, "calendar_imports": 4}
"""The format version that added each seed table; an older file does not have it."""
IMPORT_ACTIONS = frozenset({"created", "replaced", "unchanged"})
REPLACED_COLUMNS = frozenset({*DAY_COLUMNS, "replaced_at"})
EVENT_FIELDS = tuple(f.name for f in fields(StoredEvent))
"""An event's keys in the file, in their order: the fields of :class:`engine.case_history.StoredEvent`."""
MAX_SEQ = 2**31 - 1
"""The largest event number a file may carry (the database's ``seq`` is a 32-bit integer)."""
CASE_NO_CHARS = Case.__table__.c.case_no.type.length
"""The longest 办件编号 a database holds (its column's length)."""


def history_of(doc: Mapping[str, Any], version: int) -> CaseHistory:
    """The history a document of format version ``version`` holds; the first malformed part raised (see above)."""
    seed = doc["seed"]
    case = _row(Case.__table__, doc["case"], "case")
    missing = [c for c in CASE_COLUMNS if c not in case]
    if missing:
        raise KeyError(f"case 缺少字段 {', '.join(missing)}")
    _check_case(case)
    if not isinstance(doc["events"], list) or not doc["events"]:
        raise ValueError("events 应为非空的事件列表（每个办件至少记录了 CaseStarted）")
    events = [_event(item, place(("events", index))) for index, item in enumerate(doc["events"])]
    raw = {name: list(seed[name]) if version >= SINCE.get(name, 1) else [] for name in SEED_TABLES}
    # These tables' own rules first, in their own words; then every field's type (_row).
    _check_imports(raw["calendar_imports"])
    for index, row in enumerate(raw["materials"]):
        extra = set(row) - set(MATERIAL_COLUMNS)
        if extra:
            raise ValueError(f"{place(('seed', 'materials', index))}含多余字段 {_keys(extra)}")
    for index, row in enumerate(raw["calendar_replaced"]):
        if set(row) != REPLACED_COLUMNS or row["replaced_at"] is None:
            raise ValueError(f"{place(('seed', 'calendar_replaced', index))}应含且只含字段 "
                             f"{', '.join(sorted(REPLACED_COLUMNS))}")
    tables = {name: [_row(table, row, place(("seed", name, index))) for index, row in enumerate(raw[name])]
              for name, table in SEED_TABLES.items()}
    messages = [_message(item, place(("seed", "messages", index))) for index, item in enumerate(seed["messages"])]
    withheld = _withheld(seed["calendar_withheld"]) if version >= 2 else {}
    both = sorted(withheld.keys() & {row["year"] for row in (*tables["calendar"], *tables["calendar_replaced"])})
    if both:
        raise ValueError(f"seed.calendar_withheld 与 seed.calendar 含同一年份 {shown(both)}")
    problem = versions_problem(tables["calendar"], tables["calendar_replaced"])
    if problem is not None:
        raise ValueError(f"calendar 与 calendar_replaced 不成其为逐年依次生效的节假日安排：{problem}")
    problem = imports_problem(tables["calendar"], tables["calendar_replaced"], tables["calendar_imports"], withheld)
    if problem is not None:
        raise ValueError(f"calendar 与 calendar_imports 不符：{problem}")
    lost = [_lost(item, place(("seed", "calendar_lost", index))) for index, item in enumerate(seed["calendar_lost"])] \
        if version >= 3 else []
    return CaseHistory(case, events, tables["definitions"], tables["forms"], tables["matters"], tables["grants"],
                       tables["users"], tables["calendar"], tables["materials"], messages, withheld,
                       tables["calendar_replaced"], lost, tables["calendar_imports"])


def _check_case(case: Mapping[str, Any]) -> None:
    """The 办件编号 one a database holds (it is shown in every verdict); the event count within an event's seq."""
    case_no, count = case["case_no"], case["event_seq"]
    if not 0 <= count <= MAX_SEQ:
        raise ValueError(f"case.event_seq 应为 0 至 {MAX_SEQ} 的整数")
    if len(case_no) > CASE_NO_CHARS:
        raise ValueError(f"case.case_no 超过 {CASE_NO_CHARS} 个字符（{shown(case_no)}）")
    if has_control(case_no):
        raise ValueError(f"case.case_no 含有控制字符（{shown(case_no)}）")


def _then(part: str) -> str:
    """``part`` followed by what a message says of it: spaced after a key, not after ``第 N 项``."""
    return part if part.endswith(("项", "事件")) else part + " "


def _keys(keys: set[str]) -> str:
    """Unknown keys as a message lists them: the first three, each :func:`~engine.file_echo.shown`."""
    listed = sorted(keys)
    more = f" 等 {len(listed)} 个" if len(listed) > 3 else ""
    return "、".join(shown(key) for key in listed[:3]) + more


def _check_imports(rows: list[dict[str, Any]]) -> None:
    """``seed.calendar_imports`` (format /4): the load log, whole rows in id order (generation N: the first N)."""
    last = 0
    for index, row in enumerate(rows):
        where = place(("seed", "calendar_imports", index))
        missing = sorted(set(CalendarImport.__table__.c.keys()) - set(row) - {"previous_hash"})
        if missing:
            raise KeyError(f"{where}缺少字段 {', '.join(missing)}")
        if isinstance(row["id"], bool) or not isinstance(row["id"], int) or row["id"] <= last:
            raise ValueError(f"{where}的 id 应为按载入顺序递增的整数（实际为 {shown(row['id'])}）")
        if isinstance(row["year"], bool) or not isinstance(row["year"], int):
            raise TypeError(f"{where}的年份 {shown(row['year'])} 不是整数")
        if row["action"] not in IMPORT_ACTIONS or row["at"] is None:
            raise ValueError(f"{where}的载入动作 {shown(row['action'])} 无法识别")
        last = row["id"]


def _withheld(items: list[Any]) -> dict[int, datetime]:
    """``seed.calendar_withheld`` (format /2): each loaded year the file leaves out, with when it was loaded."""
    withheld = {}
    for index, item in enumerate(items):
        where = place(("seed", "calendar_withheld", index))
        if not isinstance(item["year"], int) or isinstance(item["year"], bool):
            raise TypeError(f"{where}的年份 {shown(item['year'])} 不是整数")
        withheld[item["year"]] = _instant(item["loaded_at"], within(where, "loaded_at"))
    return withheld


def _lost(item: Mapping[str, Any], where: str) -> LostVersion:
    """One ``seed.calendar_lost`` item (format /3): a replaced schedule whose days were not kept."""
    if not isinstance(item["year"], int) or isinstance(item["year"], bool):
        raise TypeError(f"{where}的年份 {shown(item['year'])} 不是整数")
    loaded = item["loaded_at"]
    return LostVersion(item["year"], None if loaded is None else _instant(loaded, within(where, "loaded_at")),
                       _instant(item["replaced_at"], within(where, "replaced_at")))


def _event(item: Mapping[str, Any], where: str) -> StoredEvent:
    missing = [f for f in EVENT_FIELDS if f not in item]
    if missing:
        raise KeyError(f"{where}缺少字段 {', '.join(missing)}")
    seq = item["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
        raise TypeError(f"{where}的 seq 应为 1 至 {MAX_SEQ} 的整数")
    if not isinstance(item["payload"], dict):
        raise TypeError(f"{where}的 payload 类型错误")
    for key in EVENT_FIELDS:
        typed(CaseEvent.__table__.c[key], item[key], within(where, key))
    named = {"CaseStarted": "content_hash", "CaseMigrated": "to_hash"}.get(item["event_type"])
    if named in item["payload"] and not isinstance(item["payload"][named], str):
        raise TypeError(f"{where}（{item['event_type']}）的 payload.{named} 应为文本")
    return StoredEvent(**{**item, "occurred_at": _instant(item["occurred_at"], within(where, "occurred_at"))})


def _message(item: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key in ("idempotency_key", "name", "correlation_key"):
        if not isinstance(item[key], str) and (key != "correlation_key" or item[key] is not None):
            raise TypeError(f"{within(where, key)} 应为文本")
    sender = item["sender"]
    if sender is not None:
        part = within(where, "sender")
        typed_row({k: Case.__table__.c[k] for k in SENDER_COLUMNS}, {k: sender[k] for k in SENDER_COLUMNS}, part)
        sender = {k: _instant(sender[k], within(part, k)) if k == "started_at" else sender[k] for k in SENDER_COLUMNS}
    if not isinstance(item["payload"], dict):
        raise TypeError(f"{within(where, 'payload')} 应为对象")
    return {"idempotency_key": item["idempotency_key"], "name": item["name"],
            "correlation_key": item["correlation_key"], "payload": item["payload"], "sender": sender}


def _row(table: Table, row: Mapping[str, Any], part: str) -> dict[str, Any]:
    """A row of ``table`` with instants and days typed again; a column the table lacks is refused."""
    if not isinstance(row, dict):
        raise TypeError(f"{_then(part)}应为对象")
    unknown = set(row) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{_then(part)}含未知字段 {_keys(unknown)}")
    typed_row(table.c, row, part)
    out = {}
    for key, value in row.items():
        kind = table.c[key].type
        if value is not None and isinstance(kind, UtcDateTime):
            value = _instant(value, within(part, key))
        elif value is not None and isinstance(kind, Date):
            value = _day(value, within(part, key))
        out[key] = value
    return out


def _instant(value: Any, where: str) -> datetime:
    """An instant written in ISO 8601 with its offset, in UTC; ``where`` names it in a refusal."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} 应为带时区的 ISO 8601 时间，实际为 {shown(value)}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{where} 的时间 {shown(value)} 缺少时区")
    return parsed.astimezone(timezone.utc)


def _day(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} 应为日期（YYYY-MM-DD），实际为 {shown(value)}") from None
