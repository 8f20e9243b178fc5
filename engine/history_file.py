"""A self-contained case-history file: one JSON document a case can be replayed and verified from offline.

The document is UTF-8 with sorted keys, every event and every seeded row compact on a line of its own, so
two exports of one case are byte-identical and a diff shows the events and rows that differ. It holds
``format`` (:data:`FORMAT`, versioned), the ``case`` row, its ``events`` exactly as stored (seq, type, time,
actor, element, task id, payload, ``prev_hash``, ``hash``) and under ``seed`` the source rows replay copies
into its scratch database (see :class:`engine.case_history.CaseHistory`). Instants are written in UTC ISO
8601, days as ``YYYY-MM-DD``. Users carry neither password hash nor ID number.

Reading checks the size (:data:`~engine.history_input.MAX_HISTORY_BYTES`), that the text is strict JSON with
no text a database cannot store and every field of its column's type (:mod:`engine.history_input`), the format
version, the shape of every part and the calendar against the file's own load log (:mod:`engine.history_parts`)
and that the file holds every definition version its events name; each refusal is a :class:`HistoryFileError`
with a stable code and a Chinese message, which names places counting from 1 and echoes what it found bounded
and escaped (:mod:`engine.file_echo`). :func:`verify_history` checks the chain, and against a database that
holds the case: its events, chain head and case row (:mod:`engine.history_anchor`).

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
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from .audit import COUNT_DIFFERS, ChainCheck, verify_chain
from .case_history import CaseHistory, StoredEvent, trim_calendar
from .errors import InvalidInput
from .file_echo import clipped, shown
from .history_anchor import DIFFERS, HistoryVerification, compare_with_database
from .history_input import MAX_HISTORY_BYTES, NotStrictJson, strict_loads, unstorable_problem
from .history_parts import EVENT_FIELDS, SEED_TABLES, history_of
from .parser_text import file_problem, json_problem
from .replay_inputs import first_broken_link
from .verification import chinese_reason

FORMAT = "tongban-case-history/4"
"""The format name and version this module writes."""
READABLE = ("tongban-case-history/1", "tongban-case-history/2", "tongban-case-history/3", FORMAT)
"""The formats this module reads (``/1``: every calendar row, nothing withheld; ``/1``, ``/2``: no replaced
schedules; ``/1`` to ``/3``: no load log)."""


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
        raise HistoryFileError(f"{name} 的格式 {shown(found)} 无法识别（支持 {'、'.join(READABLE)}）",
                               code="HISTORY_FORMAT_UNKNOWN",
                               details={"file": name, "format": None if found is None else clipped(found),
                                        "supported": list(READABLE)})
    try:
        history = history_of(doc, READABLE.index(doc["format"]) + 1)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise HistoryFileError(f"{name} 的内容不完整或格式错误：{_shape_problem(exc)}",
                               details={"file": name}) from exc
    _check_definitions(history, name)
    return history


def _shape_problem(exc: Exception) -> str:
    """What a malformed part is, in Chinese: this module's own words, else a missing key or a generic phrase.

    Python's own messages (``string indices must be integers``, ``Invalid isoformat string``) are English
    and name no part of the file, so they are not shown; a missing key is echoed bounded.
    """
    said = str(exc.args[0]) if exc.args else ""
    if isinstance(exc, KeyError) and not _CHINESE.search(said):
        return f"缺少 {clipped(said)}"
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
    found = compare_with_database(engine, history)
    if found.state == DIFFERS:
        return replace(result, ok=False, broken_seq=found.seq, reason=found.reason, database=found.state,
                       database_events=found.database_events, fields=found.fields)
    return replace(result, database=found.state, database_events=found.database_events)


def _check_definitions(history: CaseHistory, name: str) -> None:
    held = {d.get("content_hash") for d in history.definitions}
    lacking = sorted(history.pinned_hashes() - held)
    ids = {d.get("id") for d in history.definitions}
    naming = min((e.seq for e in history.events if _named_hash(e) in lacking), default=None)
    if lacking and history.case["definition_id"] in ids and first_broken_link(history, naming) is not None:
        return   # the hash was edited in the event naming it: verify shows the broken link, replay refuses on it
    if lacking or history.case["definition_id"] not in ids:
        what = "、".join(clipped(h[:12]) + "…" for h in lacking[:3]) or f"id {clipped(history.case['definition_id'])}"
        raise HistoryFileError(f"{name} 缺少办件所用的流程定义（{clipped(history.case['process_key'])}，内容哈希 "
                               f"{what}），无法重放", code="HISTORY_DEFINITION_MISSING",
                               details={"file": name, "missing": [clipped(h) for h in lacking]
                                        or [history.case["definition_id"]]})


def _named_hash(event: StoredEvent) -> Any:
    """The definition content hash an event names (CaseStarted, CaseMigrated), else None."""
    key = {"CaseStarted": "content_hash", "CaseMigrated": "to_hash"}.get(event.event_type)
    return event.payload.get(key) if key else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written to a history file")
