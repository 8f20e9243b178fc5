"""Exports for analysis: the audit events of a period as CSV or JSON lines, streamed, personal data masked.

Rows come from one query read through a server-side cursor (``yield_per``) and leave as text one line at
a time, so an export of any length runs in constant memory: nothing is collected before it is written.
Personal data is masked in every payload (:func:`mask_personal`); the actors (staff user names) stay, as
they are what an analysis of the work needs.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator

from sqlalchemy import select

from .clock import CST
from .csv_cells import spreadsheet_safe
from .errors import InvalidInput, UnknownDistrict
from .masking import is_id_number_key, mask_id_number, mask_mobile_numbers, mask_text
from .persistence.models import Case, CaseEvent, District

FORMATS = ("csv", "jsonl")
MAX_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
COLUMNS = ("case_no", "district", "matter_code", "process_key", "seq", "event_type", "occurred_at", "actor",
           "element_id", "task_id", "payload", "hash")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}

NAME_KEYS = frozenset({"applicant", "applicant_name", "agent", "agent_name", "legal_representative",
                       "legal_rep_name", "buyer_name", "seller_name", "contact", "contact_name", "owner_name"})
"""Keys whose values are names of people: the surname (first character) stays."""


@dataclass(frozen=True)
class ExportQuery:
    """Which events: those that happened from ``start`` to ``end`` (CST dates, inclusive), in a format."""

    start: date
    end: date
    format: str = "csv"
    district: str | None = None
    """Only cases owned by this district (业务属地)."""

    @property
    def filename(self) -> str:
        """The file name to offer for download."""
        return f"events-{self.start:%Y%m%d}-{self.end:%Y%m%d}.{self.format}"


def check_query(query: ExportQuery) -> None:
    """Refuse a bad export before anything is read.

    Raises:
        InvalidInput: unknown format (``EXPORT_FORMAT``), a date outside 2000–2099 (``EXPORT_RANGE_INVALID``),
            ``start`` after ``end`` (``EXPORT_RANGE_REVERSED``) or more than :data:`MAX_DAYS` days
            (``EXPORT_RANGE_TOO_LONG``).
    """
    if query.format not in FORMATS:
        raise InvalidInput(f"导出格式应为 {' 或 '.join(FORMATS)}，收到 {query.format}", code="EXPORT_FORMAT",
                           details={"format": query.format})
    for name, value in (("from", query.start), ("to", query.end)):
        if not EARLIEST <= value <= LATEST:
            raise InvalidInput(f"日期 {value.isoformat()} 超出可导出的范围（{EARLIEST} 至 {LATEST}）",
                               code="EXPORT_RANGE_INVALID", details={name: value.isoformat()})
    if query.start > query.end:
        raise InvalidInput(f"起始日期 {query.start} 晚于结束日期 {query.end}", code="EXPORT_RANGE_REVERSED",
                           details={"from": query.start.isoformat(), "to": query.end.isoformat()})
    days = (query.end - query.start).days + 1
    if days > MAX_DAYS:
        raise InvalidInput(f"一次最多导出 {MAX_DAYS} 天（所选 {days} 天），请分段导出", code="EXPORT_RANGE_TOO_LONG",
                           details={"days": days, "max_days": MAX_DAYS})


def export_events(engine: Any, query: ExportQuery, *, batch: int = 1000) -> Iterator[str]:
    """Check ``query`` now, then return an iterator of output lines (a header first for CSV).

    Raises:
        InvalidInput: see :func:`check_query`.
        UnknownDistrict: ``district`` is not a known district.
    """
    check_query(query)
    if query.district is not None:
        with engine.database.read_sessions() as session:
            if session.get(District, query.district) is None:
                raise UnknownDistrict(f"区县 {query.district} 不存在", details={"district": query.district})
    return _lines(engine, query, batch)


def _lines(engine: Any, query: ExportQuery, batch: int) -> Iterator[str]:
    start = datetime.combine(query.start, time(0), tzinfo=CST)
    end = datetime.combine(query.end + timedelta(days=1), time(0), tzinfo=CST)
    stmt = (select(Case.case_no, Case.owning_district, Case.matter_code, Case.process_key, CaseEvent.seq,
                   CaseEvent.event_type, CaseEvent.occurred_at, CaseEvent.actor, CaseEvent.element_id,
                   CaseEvent.task_id, CaseEvent.payload, CaseEvent.hash)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(CaseEvent.occurred_at >= start, CaseEvent.occurred_at < end)
            .order_by(CaseEvent.occurred_at, CaseEvent.id)
            .execution_options(yield_per=batch))
    if query.district is not None:
        stmt = stmt.where(Case.owning_district == query.district)
    if query.format == "csv":
        yield _csv_line(COLUMNS)
    with engine.database.read_sessions() as session:
        result = session.execute(stmt)
        try:
            for row in result:
                record = dict(zip(COLUMNS, row))
                record["occurred_at"] = record["occurred_at"].astimezone(CST).isoformat()
                record["payload"] = mask_personal(record["payload"])
                if query.format == "csv":
                    record["payload"] = json.dumps(record["payload"], ensure_ascii=False, sort_keys=True)
                    yield _csv_line([record[c] for c in COLUMNS])
                else:
                    yield json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        finally:
            result.close()   # a consumer that stops early releases the server-side cursor at once


def _csv_line(values: Any) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([spreadsheet_safe(v) for v in values])
    return out.getvalue()


def mask_personal(data: Any, key: str | None = None) -> Any:
    """Mask personal data in a payload, keeping its structure and every other value.

    ID numbers and mobile numbers are masked wherever they appear; names (surname kept), phone numbers,
    addresses (first six characters kept) and account numbers (last four kept) under the keys that hold them.
    A form group nests its fields under the group's key (form-js ``path``): every part of an ``address`` group
    is masked as an address, and the ``name`` of a person's group (``applicant``, ``agent`` ...) as a name.
    """
    if isinstance(data, dict):
        return {k: mask_personal(v, _inner_key(key, k)) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask_personal(item, key) for item in data]
    if isinstance(data, bool) or data is None:
        return data
    if key is not None and isinstance(data, (str, int)):
        text = str(data)
        if is_id_number_key(key):
            return mask_id_number(text)
        if key in NAME_KEYS:
            return text[:1] + "*" * (len(text) - 1)
        if "phone" in key or "mobile" in key:
            return _keep_ends(text, 3, 4)
        if _is_address(key):
            return text[:6] + "***" if len(text) > 6 else "***"
        if key.endswith(("_account_no", "social_insurance_no")):
            return _keep_ends(text, 0, 4)
    if isinstance(data, str):
        return mask_mobile_numbers(mask_text(data))
    return data


def _inner_key(group: str | None, key: str) -> str:
    """The key a field of a nested group is masked under: the group's where the group says what it holds."""
    if group is not None and _is_address(group):
        return group
    if group in NAME_KEYS and key == "name":
        return group
    return key


def _is_address(key: str) -> bool:
    return key == "address" or key.endswith("_address")


def _keep_ends(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail:]
