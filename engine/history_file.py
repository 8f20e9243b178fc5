"""A self-contained case-history file: one JSON document a case can be replayed and verified from offline.

The document is UTF-8 with sorted keys, every event and every seeded row compact on a line of its own, so
two exports of one case are byte-identical and a diff shows the events and rows that differ. It holds
``format`` (:data:`FORMAT`, versioned), the ``case`` row, its ``events`` exactly as stored (seq, type, time,
actor, element, task id, payload, ``prev_hash``, ``hash``) and under ``seed`` the source rows replay copies
into its scratch database (see :class:`engine.case_history.CaseHistory`). Instants are written in UTC ISO
8601, days as ``YYYY-MM-DD``. Users carry neither password hash nor ID number.

Reading checks the size (:data:`~engine.history_input.MAX_HISTORY_BYTES`), that the text is strict JSON with
no text a database cannot store and every field of its column's type (:mod:`engine.history_input`), the format
version, the shape of every part, the calendar against the file's own load log and that the file holds every
definition version its events name; each refusal is a :class:`HistoryFileError` with a stable code and a
Chinese message. :func:`verify_history` checks the chain, and against a database that holds the case
(:mod:`engine.history_anchor`).

**Format versions.** ``tongban-case-history/1`` carried every calendar row of the source (about 115 KB of a
file, seeded whole by replay). ``/2`` carries only the whole years the case can
need, from its first event's year through the year after its last (see
:func:`engine.case_history.trim_calendar`), and lists under ``seed.calendar_withheld`` every other year the
source had loaded with the instant it was loaded; replay refuses (``HISTORY_CALENDAR_MISSING``) rather than
estimate when a command consults one of those (:mod:`engine.replay_calendar`). The bump is needed because the
meaning of ``seed.calendar`` changed: a reader that knew only ``/1`` would take the trimmed rows for the whole
calendar and could silently compute another deadline, so it must refuse a ``/2`` file as an unknown format.
``/1`` files stay readable (:data:`READABLE`): their calendar is complete, nothing is withheld, and they replay
exactly as before; they are never written again.

``/3`` also carries, for the same years, the facts of schedules a later import replaced
(``seed.calendar_replaced``, each row with its ``replaced_at``), so each replayed command reads the schedule in
force at its instant, and lists every schedule replaced before replaced schedules were kept
(``seed.calendar_lost``: year, ``loaded_at``, ``replaced_at``), where replay refuses
(``HISTORY_CALENDAR_REPLACED``) a command that consults one. ``seed.calendar`` changed meaning again (the
schedules in force *now*, no longer the only ones the case read), so a ``/2`` reader must refuse a ``/3`` file.
``/1`` and ``/2`` files stay readable: they carry no replaced schedules (those were deleted when they were
written).

``/4`` (:data:`FORMAT`, written now) also carries the source's whole calendar load log
(``seed.calendar_imports``, every year, untrimmed): events written since carry the calendar generation their
command counted with, and replay seeds such a command with the calendar after that many loads. A ``/3`` reader
would seed it by instant and could count with another schedule, so it must refuse a ``/4`` file. Older files
carry no log: their commands replay by instant, as before.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import fields, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import Date, Table

from .audit import COUNT_DIFFERS, ChainCheck, verify_chain
from .case_history import CASE_COLUMNS, MATERIAL_COLUMNS, SENDER_COLUMNS, CaseHistory, StoredEvent, trim_calendar
from .errors import InvalidInput
from .history_anchor import DIFFERS, HistoryVerification, compare_with_database
from .history_input import MAX_HISTORY_BYTES, NotStrictJson, strict_loads, typed, typed_row, unstorable_problem
from .parser_text import file_problem, json_problem
from .persistence.calendar_repository import DAY_COLUMNS, LostVersion
from .persistence.models import (
    CalendarDay, CalendarImport, CalendarReplacedDay, Case, CaseEvent, CaseMaterial, FormVersion, Grant, MatterVersion,
    ProcessDefinition, User,
)
from .persistence.types import UtcDateTime
from .replay_calendar import imports_problem, versions_problem
from .replay_inputs import first_broken_link
from .verification import chinese_reason

FORMAT = "tongban-case-history/4"
"""The format name and version this module writes."""
READABLE = ("tongban-case-history/1", "tongban-case-history/2", "tongban-case-history/3", FORMAT)
"""The formats this module reads (``/1``: every calendar row, nothing withheld; ``/1``, ``/2``: no replaced
schedules; ``/1`` to ``/3``: no load log)."""
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


class HistoryFileError(InvalidInput):
    """A history file that cannot be read (unreadable, not JSON, an unknown format, a missing part) or written."""

    code = "HISTORY_FILE_INVALID"


def dumps_history(history: CaseHistory) -> str:
    """Return the history as the file's text (stable: the same history always gives the same bytes).

    Only the calendar years the case can need are written (:func:`engine.case_history.trim_calendar`).
    """
    history = trim_calendar(history)
    seed = {name: getattr(history, name) for name in (*SEED_TABLES, "messages")}
    seed["calendar_withheld"] = [{"year": year, "loaded_at": at} for year, at in history.calendar_withheld.items()]
    seed["calendar_lost"] = [{"year": v.year, "loaded_at": v.loaded_at, "replaced_at": v.replaced_at}
                             for v in history.calendar_lost]
    doc = {"format": FORMAT, "case": history.case, "seed": seed,
           "events": [{name: getattr(e, name) for name in EVENT_FIELDS} for e in history.events]}
    return _layout(json.loads(json.dumps(doc, default=_plain)), "") + "\n"


def _layout(value: Any, indent: str) -> str:
    """Objects spread one key a line, lists one item a line, each row (a list item) compact on its line."""
    inner = indent + " "
    if isinstance(value, dict) and value and any(isinstance(v, (dict, list)) and v for v in value.values()) \
            and indent.count(" ") < 2:
        body = ",\n".join(f"{inner}{_compact(k)}: {_layout(v, inner)}" for k, v in sorted(value.items()))
        return "{\n" + body + "\n" + indent + "}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(inner + _compact(item) for item in value) + "\n" + indent + "]"
    return _compact(value)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def write_history(history: CaseHistory, path: Path) -> None:
    """Write the history file to ``path`` (UTF-8).

    Raises:
        HistoryFileError: ``HISTORY_FILE_UNWRITABLE`` when the file cannot be written, saying why in Chinese.
    """
    text = dumps_history(history)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HistoryFileError(f"无法写入 {path}：{file_problem(exc, writing=True)}", code="HISTORY_FILE_UNWRITABLE",
                               details={"file": str(path)}) from exc


def read_history(path: Path) -> CaseHistory:
    """Read and check a history file; :class:`HistoryFileError` says what is wrong with it.

    A file larger than :data:`~engine.history_input.MAX_HISTORY_BYTES` is refused (``HISTORY_FILE_TOO_LARGE``)
    before it is read whole: its size is checked first, and no more than one byte past the limit is read.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(MAX_HISTORY_BYTES + 1) if size <= MAX_HISTORY_BYTES else b""
        if size > MAX_HISTORY_BYTES or len(data) > MAX_HISTORY_BYTES:   # a pipe or device states no size
            raise HistoryFileError(f"历史文件 {path} 过大（超过 {MAX_HISTORY_BYTES // 2**20} MB），不予读取",
                                   code="HISTORY_FILE_TOO_LARGE",
                                   details={"file": str(path), "limit": MAX_HISTORY_BYTES})
        text = data.decode("utf-8")
    except OSError as exc:
        raise HistoryFileError(f"无法读取历史文件 {path}：{file_problem(exc)}", code="HISTORY_FILE_UNREADABLE",
                               details={"file": str(path)}) from exc
    except UnicodeDecodeError as exc:
        raise HistoryFileError(f"无法读取历史文件 {path}：{json_problem(exc)}", code="HISTORY_FILE_UNREADABLE",
                               details={"file": str(path)}) from exc
    return loads_history(text, name=str(path))


def loads_history(text: str, *, name: str = "历史文件") -> CaseHistory:
    """Parse the file's text (see :func:`read_history`).

    Beyond its shape, the text must be strict JSON (no duplicate key, no ``NaN``), hold no text a database
    cannot store and give every field the type of its column (:mod:`engine.history_input`): each refused as
    ``HISTORY_FILE_INVALID`` naming where.
    """
    try:
        doc = strict_loads(text)
    except NotStrictJson as exc:
        raise HistoryFileError(f"{name} 不是有效的 JSON：{exc}", details={"file": name}) from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
        raise HistoryFileError(f"{name} {json_problem(exc)}，可能被截断或损坏",
                               details={"file": name, "line": line}) from exc
    except ValueError as exc:   # an integer longer than sys.get_int_max_str_digits()
        raise HistoryFileError(f"{name} {json_problem(exc)}", details={"file": name}) from exc
    problem = unstorable_problem(doc)
    if problem is not None:
        raise HistoryFileError(f"{name} {problem}，不是 tongban 导出的历史文件", details={"file": name})
    if not isinstance(doc, dict) or doc.get("format") not in READABLE:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise HistoryFileError(f"{name} 的格式 {found!r} 无法识别（支持 {'、'.join(READABLE)}）",
                               code="HISTORY_FORMAT_UNKNOWN",
                               details={"file": name, "format": found, "supported": list(READABLE)})
    try:
        history = _history(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise HistoryFileError(f"{name} 的内容不完整或格式错误：{_shape_problem(exc)}",
                               details={"file": name}) from exc
    _check_definitions(history, name)
    return history


def _shape_problem(exc: Exception) -> str:
    """What a malformed part is, in Chinese: this module's own words, else a missing key or a generic phrase.

    Python's own messages (``string indices must be integers``, ``Invalid isoformat string``) are English
    and name no part of the file, so they are not shown.
    """
    said = str(exc.args[0]) if exc.args else ""
    if isinstance(exc, KeyError) and not _CHINESE.search(said):
        return f"缺少 {said}"
    if _CHINESE.search(said):
        return said
    return "某个部分的类型或取值不符合历史文件格式"


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def verify_history(history: CaseHistory, *, engine: Any = None) -> HistoryVerification:
    """Check the file's hash chain and, given ``engine``, hold it against that engine's database.

    On its own: seq, links, every hash, the case row's head and its event count (``event_seq``), as
    ``verify CASE`` checks a case in the database; the first broken link is named. With ``engine``, an intact
    chain is compared with the database's chain of the same 办件编号 (:mod:`engine.history_anchor`): the
    chain is not keyed, so a file edited and re-hashed verifies on its own, and only that comparison finds it.
    """
    check = verify_chain((e.chained(history.case_no) for e in history.events),
                         expected_head=history.case["chain_head"])
    recorded = history.case["event_seq"]
    if check.ok and recorded != check.checked:
        check = ChainCheck(False, check.checked, check.checked + 1,
                           f"{COUNT_DIFFERS}: recorded {recorded}, found {check.checked}")
    result = HistoryVerification(history.case["id"], history.case_no, check.ok, check.checked, check.broken_seq,
                                 chinese_reason(check.reason))
    if not check.ok or engine is None:
        return result
    state, stored, seq, reason = compare_with_database(
        engine, history.case_no, [(e.seq, e.hash) for e in history.events], history.case["chain_head"])
    if state == DIFFERS:
        return replace(result, ok=False, broken_seq=seq, reason=reason, database=state, database_events=stored)
    return replace(result, database=state, database_events=stored)


def _history(doc: Mapping[str, Any]) -> CaseHistory:
    seed = doc["seed"]
    case = _row(Case.__table__, doc["case"], "case")
    missing = [c for c in CASE_COLUMNS if c not in case]
    if missing:
        raise KeyError(f"case 缺少字段 {', '.join(missing)}")
    if not isinstance(doc["events"], list) or not doc["events"]:
        raise ValueError("events 应为非空的事件列表（每个办件至少记录了 CaseStarted）")
    events = [_event(item, index) for index, item in enumerate(doc["events"], 1)]
    version = READABLE.index(doc["format"]) + 1
    since_3 = version >= 3
    raw = {name: list(seed[name]) if version >= SINCE.get(name, 1) else [] for name in SEED_TABLES}
    # These tables' own rules first, in their own words; then every field's type (_row).
    _check_imports(raw["calendar_imports"])
    for row in raw["materials"]:
        if set(row) - set(MATERIAL_COLUMNS):
            raise ValueError(f"materials 含多余字段 {sorted(set(row) - set(MATERIAL_COLUMNS))}")
    for row in raw["calendar_replaced"]:
        if set(row) != REPLACED_COLUMNS or row["replaced_at"] is None:
            raise ValueError(f"calendar_replaced 的行应含且只含字段 {sorted(REPLACED_COLUMNS)}")
    tables = {name: [_row(table, row, name) for row in raw[name]] for name, table in SEED_TABLES.items()}
    messages = [_message(item) for item in seed["messages"]]
    withheld = _withheld(seed["calendar_withheld"]) if doc["format"] != READABLE[0] else {}
    both = sorted(withheld.keys() & {row["year"] for row in (*tables["calendar"], *tables["calendar_replaced"])})
    if both:
        raise ValueError(f"calendar_withheld 与 calendar 含同一年份 {both}")
    problem = versions_problem(tables["calendar"], tables["calendar_replaced"])
    if problem is not None:
        raise ValueError(f"calendar 与 calendar_replaced 不成其为逐年依次生效的节假日安排：{problem}")
    problem = imports_problem(tables["calendar"], tables["calendar_replaced"], tables["calendar_imports"], withheld)
    if problem is not None:
        raise ValueError(f"calendar 与 calendar_imports 不符：{problem}")
    lost = [_lost(item) for item in seed["calendar_lost"]] if since_3 else []
    return CaseHistory(case, events, tables["definitions"], tables["forms"], tables["matters"], tables["grants"],
                       tables["users"], tables["calendar"], tables["materials"], messages, withheld,
                       tables["calendar_replaced"], lost, tables["calendar_imports"])


def _check_imports(rows: list[dict[str, Any]]) -> None:
    """``seed.calendar_imports`` (format /4): the load log, whole rows in id order (generation N: the first N)."""
    last = 0
    for row in rows:
        missing = sorted(set(CalendarImport.__table__.c.keys()) - set(row) - {"previous_hash"})
        if missing:
            raise KeyError(f"calendar_imports 的行缺少字段 {', '.join(missing)}")
        if isinstance(row["id"], bool) or not isinstance(row["id"], int) or row["id"] <= last:
            raise ValueError("calendar_imports 的 id 应为按载入顺序递增的整数")
        if isinstance(row["year"], bool) or not isinstance(row["year"], int):
            raise TypeError(f"calendar_imports 的年份 {row['year']!r} 不是整数")
        if row["action"] not in IMPORT_ACTIONS or row["at"] is None:
            raise ValueError(f"calendar_imports 的载入动作 {row['action']!r} 无法识别")
        last = row["id"]


def _withheld(items: list[Any]) -> dict[int, datetime]:
    """``seed.calendar_withheld`` (format /2): each loaded year the file leaves out, with when it was loaded."""
    withheld = {}
    for item in items:
        if not isinstance(item["year"], int) or isinstance(item["year"], bool):
            raise TypeError(f"calendar_withheld 的年份 {item['year']!r} 不是整数")
        withheld[item["year"]] = _instant(item["loaded_at"])
    return withheld


def _lost(item: Mapping[str, Any]) -> LostVersion:
    """One ``seed.calendar_lost`` item (format /3): a replaced schedule whose days were not kept."""
    if not isinstance(item["year"], int) or isinstance(item["year"], bool):
        raise TypeError(f"calendar_lost 的年份 {item['year']!r} 不是整数")
    loaded = item["loaded_at"]
    return LostVersion(item["year"], None if loaded is None else _instant(loaded), _instant(item["replaced_at"]))


MAX_SEQ = 2**31 - 1
"""The largest event number a file may carry (the database's ``seq`` is a 32-bit integer)."""


def _event(item: Mapping[str, Any], index: int) -> StoredEvent:
    missing = [f for f in EVENT_FIELDS if f not in item]
    if missing:
        raise KeyError(f"第 {index} 个事件缺少字段 {', '.join(missing)}")
    seq = item["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
        raise TypeError(f"第 {index} 个事件的 seq 应为 1 至 {MAX_SEQ} 的整数")
    if not isinstance(item["payload"], dict):
        raise TypeError(f"第 {index} 个事件的 payload 类型错误")
    for key in EVENT_FIELDS:
        typed(CaseEvent.__table__.c[key], item[key], f"第 {index} 个事件的 {key}")
    named = {"CaseStarted": "content_hash", "CaseMigrated": "to_hash"}.get(item["event_type"])
    if named in item["payload"] and not isinstance(item["payload"][named], str):
        raise TypeError(f"第 {index} 个事件（{item['event_type']}）的 payload.{named} 应为文本")
    return StoredEvent(**{**item, "occurred_at": _instant(item["occurred_at"])})


def _message(item: Mapping[str, Any]) -> dict[str, Any]:
    for key in ("idempotency_key", "name", "correlation_key"):
        if not isinstance(item[key], str) and (key != "correlation_key" or item[key] is not None):
            raise TypeError(f"messages 的 {key} 应为文本")
    sender = item["sender"]
    if sender is not None:
        typed_row({k: Case.__table__.c[k] for k in SENDER_COLUMNS}, {k: sender[k] for k in SENDER_COLUMNS},
                  "messages.sender")
        sender = {k: _instant(sender[k]) if k == "started_at" else sender[k] for k in SENDER_COLUMNS}
    if not isinstance(item["payload"], dict):
        raise TypeError(f"消息 {item['idempotency_key']} 的 payload 不是对象")
    return {"idempotency_key": item["idempotency_key"], "name": item["name"],
            "correlation_key": item["correlation_key"], "payload": item["payload"], "sender": sender}


def _row(table: Table, row: Mapping[str, Any], part: str) -> dict[str, Any]:
    """A row of ``table`` with instants and days typed again; a column the table lacks is refused."""
    if not isinstance(row, dict):
        raise TypeError(f"{part} 的行应为对象")
    unknown = set(row) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{part} 含未知字段 {sorted(unknown)}")
    typed_row(table.c, row, part)
    out = {}
    for key, value in row.items():
        kind = table.c[key].type
        if value is not None and isinstance(kind, UtcDateTime):
            value = _instant(value)
        elif value is not None and isinstance(kind, Date):
            value = date.fromisoformat(value)
        out[key] = value
    return out


def _check_definitions(history: CaseHistory, name: str) -> None:
    held = {d.get("content_hash") for d in history.definitions}
    lacking = sorted(history.pinned_hashes() - held)
    ids = {d.get("id") for d in history.definitions}
    naming = min((e.seq for e in history.events if _named_hash(e) in lacking), default=None)
    if lacking and history.case["definition_id"] in ids and first_broken_link(history, naming) is not None:
        return   # the hash was edited in the event naming it: verify shows the broken link, replay refuses on it
    if lacking or history.case["definition_id"] not in ids:
        what = "、".join(h[:12] + "…" for h in lacking) or f"id {history.case['definition_id']}"
        raise HistoryFileError(f"{name} 缺少办件所用的流程定义（{history.case['process_key']}，内容哈希 {what}），"
                               "无法重放", code="HISTORY_DEFINITION_MISSING",
                               details={"file": name, "missing": lacking or [history.case["definition_id"]]})


def _named_hash(event: StoredEvent) -> Any:
    """The definition content hash an event names (CaseStarted, CaseMigrated), else None."""
    key = {"CaseStarted": "content_hash", "CaseMigrated": "to_hash"}.get(event.event_type)
    return event.payload.get(key) if key else None


def _instant(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"时间 {value} 缺少时区")
    return parsed.astimezone(timezone.utc)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written to a history file")
