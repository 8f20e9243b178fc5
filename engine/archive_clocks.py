"""The clocks of ``metadata/case.json`` against the clock events of the chain (part of the offline archive check).

A case's 法定 and 承诺 clocks live on its row, not in its events, so an edited budget, T0, pause or extension
in a package would verify if only the events were checked. Yet every part of a started clock follows from the
events, read by the rules :mod:`engine.history_clocks` reads them by (:func:`~engine.clock_changes.clock_change`):
``ClocksStarted`` opens a period (its T0 and its budget), pauses and resumptions (also those a 受理 ended,
``resumed``) end a segment and open the next, ``DeadlineExtended`` adds an extension, ``ClocksStopped`` and
``CaseCompleted`` close the period. Each segment and extension carries its event's instant and actor. So each
period is rebuilt from the events and compared field by field, and the first difference is named
(``clocks.legal.clock.t0``, expected and found).
The budget is compared with the one ``ClocksStarted`` records, so a package whose 承诺 10 working days were made
20 fails even where the diagram declares both lengths (``clocks.committed.clock.budget``, expected and found).

The events do not hold everything (README.md and, from format version 2, README.txt list it):

* a clock started at 受理 by an engine from before every ``ClocksStarted`` recorded its budget (older cases:
  only a length taken from the case data, ``amountFrom``, was recorded) has a budget the events do not hold.
  It must be one that the pinned diagram or catalog entry declares: the engine picked among them at intake
  by rules the package does not carry, so a swap between two declared budgets is not caught there. A later
  period of a per-stage clock keeps the budget of the period before. A migrated case's earlier diagram is
  not in the package, so there such a budget is not checked at all;
* the first segment of a case opened on a handoff message starts at the receiving district's acceptance,
  before the event: it must fall on T0 and not after the event;
* the light thresholds, the steps a clock starts or stops at, and the record of a clock that never started
  (``pending``) are not checked.

A problem names a clock by its kind, which is a key of ``case.json``'s ``clocks`` or of a ``ClocksStarted``
event, and an event by its type: both come from the package, so both are quoted bounded and escaped
(:func:`~engine.file_echo.clipped`), as is the reason a clock record is invalid (it may quote the record).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, NoReturn, Sequence

from . import archive_format as fmt
from .archive_limits import MAX_DOCUMENT_BYTES
from .archive_problems import CASE_MISMATCH, Fail, shown
from .audit import ChainedEvent
from .calendar import business_date
from .clock_changes import ClockChange, clock_change, started_clocks
from .definitions import TB_NS
from .errors import DefinitionRejected
from .file_echo import clipped
from .legal_clock import Clock
from .legal_clock_records import UNIT_ZH, ClockInvalid
from .spiff.xml_loader import parse_xml

_SEGMENT_FIELDS = ("kind", "start", "end", "actor", "reason_kind", "reason", "procedure", "expected")
_EXTENSION_FIELDS = ("days", "reason", "approved_by", "actor", "at", "told_to_applicant")
REASON_CHARS = 200
"""How many characters of the reason a clock record is invalid a problem shows (then ``…``): the reason quotes
the record, which may hold a megabyte."""


@dataclass
class _Period:
    """One period of one clock as the events tell it; each segment and extension keeps the event it came from."""

    opened: ChainedEvent
    started: Mapping[str, Any]
    segments: list[dict[str, Any]]
    extensions: list[dict[str, Any]] = field(default_factory=list)
    closed: ChainedEvent | None = None


def check_clocks(doc: Any, facts: fmt.EventFacts, declared: Sequence[Mapping[str, Any]]) -> None:
    """Raise :class:`Fail` at the first part of ``doc`` (``case.json``'s ``clocks``) the events contradict.

    ``declared`` are the budgets the pinned diagram and catalog entry declare (:func:`declared_budgets`).
    """
    periods = _periods(facts.clock_events)
    if doc is None and not periods:
        return
    if not isinstance(doc, Mapping):
        _fail("clocks 应为对象（审计事件中有计时事件）", "对象", doc)
    for kind, found in periods.items():
        if kind not in doc:
            _fail(f"clocks 缺少 {clipped(kind)}（{_named(found[0].opened)}起算了该时限）", f"{len(found)} 个计时时段",
                  None)
    for kind, entry in doc.items():
        records = _records(str(kind), entry)
        derived = periods.get(kind, [])
        if len(records) != len(derived):
            _fail(f"clocks.{clipped(kind)} 的计时时段数与审计事件不符（每次起算有一个 ClocksStarted 事件）",
                  f"{len(derived)} 个", f"{len(records)} 个")
        previous = None
        for (path, clock), period in zip(records, derived):
            _compare(path, kind, clock, period, previous, facts, declared)
            previous = clock.budget.to_dict()


def declared_budgets(diagrams: Iterable[str], catalog: Any) -> list[dict[str, Any]]:
    """Every budget (``{amount, unit}``) the diagrams' ``tb:clock`` elements and the catalog entry declare."""
    found: list[dict[str, Any]] = []
    for text in diagrams:
        found += _diagram_budgets(text)
    stack = [catalog]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            amount, unit = node.get("amount"), node.get("unit")
            if isinstance(amount, int) and not isinstance(amount, bool) and isinstance(unit, str):
                found.append({"amount": amount, "unit": unit})
            stack += list(node.values())
        elif isinstance(node, list):
            stack += node
    return [b for n, b in enumerate(found) if b not in found[:n]]


def _diagram_budgets(text: str) -> list[dict[str, Any]]:
    # The engine's hardened loader (no DTD, no entities, no network), as for any diagram read again.
    try:
        root = parse_xml(text.encode("utf-8"), name="definition", max_bytes=MAX_DOCUMENT_BYTES, stored=True)
    except DefinitionRejected:
        return []
    found = []
    for element in root.iter(f"{{{TB_NS}}}clock"):
        for attribute, unit in (("workdays", "workday"), ("days", "day")):
            raw = element.get(attribute)
            if raw is not None and raw.isascii() and raw.isdigit():
                found.append({"amount": int(raw), "unit": unit})
    return found


def _periods(events: Iterable[ChainedEvent]) -> dict[str, list[_Period]]:
    periods: dict[str, list[_Period]] = {}
    for event in events:
        started = started_clocks(event.event_type, event.payload)
        # The clocks seen so far, then those this event starts for the first time, in the order it names them.
        for kind in [*periods, *(k for k in started if k not in periods)]:
            current = periods[kind][-1] if kind in periods else None
            change = clock_change(kind, event.event_type, event.payload,
                                  in_period=current is not None and current.closed is None)
            if change is ClockChange.START:
                entry = started[kind]
                periods.setdefault(kind, []).append(
                    _Period(event, entry if isinstance(entry, Mapping) else {}, [_segment("running", event)]))
            elif change is None or current is None:
                continue
            elif change is ClockChange.EXTEND:
                payload = event.payload
                current.extensions.append({
                    "days": payload.get("days"), "reason": payload.get("reason"),
                    "approved_by": payload.get("approved_by"), "actor": _actor(event), "at": event.occurred_at,
                    "told_to_applicant": payload.get("told_to_applicant", False), "event": event})
            else:
                current.segments[-1].update(end=event.occurred_at, ended=event)
                if change is ClockChange.CLOSE:
                    current.closed = event
                else:
                    current.segments.append(_segment("paused" if change is ClockChange.PAUSE else "running", event))
    return periods


def _segment(kind: str, event: ChainedEvent) -> dict[str, Any]:
    """A segment opened by ``event`` as the engine writes it (a pause takes the event's reason and terms)."""
    payload, paused = event.payload, kind == "paused"
    expected = payload.get("expected_days") if paused else None
    return {"kind": kind, "start": event.occurred_at, "end": None, "actor": _actor(event),
            "reason_kind": payload.get("reason_kind") if paused else None,
            "reason": payload.get("reason") if paused else "",
            "procedure": str(payload.get("procedure") or "").strip() if paused else "",
            "expected": {"amount": expected, "unit": "workday"} if expected else None,
            "event": event, "ended": None}


def _records(kind: str, entry: Any) -> list[tuple[str, Clock]]:
    """The clock's periods in order (the ended ones, then the current or last one), each with its path."""
    where = f"clocks.{clipped(kind)}"
    if not isinstance(entry, Mapping):
        _fail(f"{where} 应为对象", "对象", entry)
    ended = entry.get("periods", [])
    if not isinstance(ended, list):
        _fail(f"{where}.periods 应为列表", "列表", ended)
    raw = [(f"{where}.periods[{n}]", item) for n, item in enumerate(ended)]
    if "clock" in entry:
        raw.append((f"{where}.clock", entry["clock"]))
    records = []
    for path, item in raw:
        try:
            records.append((path, Clock.from_dict(item)))
        except ClockInvalid as invalid:
            _fail(f"{path} 不是有效的计时记录：{clipped(invalid.message, REASON_CHARS)}")
    return records


def _compare(path: str, kind: str, clock: Clock, period: _Period, previous: Mapping[str, Any] | None,
             facts: fmt.EventFacts, declared: Sequence[Mapping[str, Any]]) -> None:
    opened = _named(period.opened)
    if clock.kind.value != kind:
        _fail(f"{path}.kind 与所在的时限种类不符", kind, clock.kind.value)
    if clock.t0.isoformat() != period.started.get("t0"):
        _fail(f"{path}.t0（起算日）与{opened}不符", period.started.get("t0"), clock.t0.isoformat())
    budget = clock.budget.to_dict()
    if "budget" in period.started:
        if budget != period.started["budget"]:
            _fail(f"{path}.budget（时限）与{opened}不符", _budget(period.started["budget"]), _budget(budget))
    elif previous is not None:
        if budget != previous:
            _fail(f"{path}.budget（时限）与上一计时时段不符（各阶段沿用同一时限）", _budget(previous), _budget(budget))
    elif not facts.migrated and budget not in declared:
        _fail(f"{path}.budget（时限）不是所锁定的流程图或事项目录声明的时限（{opened}未记录天数）",
              "、".join(_budget(b) for b in declared) or None, _budget(budget))
    found = [_segment_of(s) for s in clock.segments]
    if len(found) != len(period.segments):
        _fail(f"{path}.segments（计时与暂停时段）的个数与审计事件不符（ClockPaused、ClockResumed、"
              "ClocksStarted 的 resumed）", f"{len(period.segments)} 个", f"{len(found)} 个")
    relaxed = facts.start_message is not None and period.opened.element_id is None
    for n, (want, got) in enumerate(zip(period.segments, found)):
        for key in _SEGMENT_FIELDS:
            if n == 0 and key == "start" and relaxed:
                # Opened on a handoff message: the clock counts from the receiving district's acceptance.
                if got["start"] > want["start"] or business_date(got["start"]) != clock.t0:
                    _fail(f"{path}.segments[0].start 应在起算日 {clock.t0} 且不晚于{opened}", want["start"],
                          got["start"])
            elif got[key] != want[key]:
                source = want["ended"] if key == "end" else want["event"]
                _fail(f"{path}.segments[{n}].{key} 与{_named(source) if source else '审计事件'}不符", want[key],
                      got[key])
    extensions = [e.to_dict() | {"at": e.at} for e in clock.extensions]
    if len(extensions) != len(period.extensions):
        _fail(f"{path}.extensions（延长）的个数与审计事件不符（DeadlineExtended）", f"{len(period.extensions)} 个",
              f"{len(extensions)} 个")
    for n, (want, got) in enumerate(zip(period.extensions, extensions)):
        for key in _EXTENSION_FIELDS:
            if got[key] != want[key]:
                _fail(f"{path}.extensions[{n}].{key} 与{_named(want['event'])}不符", want[key], got[key])
    closed = period.closed.occurred_at if period.closed is not None else None
    if clock.closed_at != closed:
        where = _named(period.closed) if period.closed is not None else "审计事件（时段未结束）"
        _fail(f"{path}.closed_at（结束时间）与{where}不符", closed, clock.closed_at)


def _segment_of(segment: Any) -> dict[str, Any]:
    return {"kind": segment.kind.value, "start": segment.start, "end": segment.end, "actor": segment.actor,
            "reason_kind": segment.reason_kind.value if segment.reason_kind is not None else None,
            "reason": segment.reason, "procedure": segment.procedure,
            "expected": segment.expected.to_dict() if segment.expected is not None else None}


def _actor(event: ChainedEvent) -> str:
    return event.actor if event.actor is not None else ""


def _named(event: ChainedEvent) -> str:
    return f"第 {event.seq} 个事件（{clipped(event.event_type)}）"


def _budget(value: Any) -> str:
    if isinstance(value, Mapping) and isinstance(value.get("amount"), int) and value.get("unit") in UNIT_ZH:
        return f"{value['amount']} {UNIT_ZH[value['unit']]}"
    return shown(value)


def _fail(message: str, expected: Any = None, got: Any = None) -> NoReturn:
    def text(value: Any) -> Any:
        return fmt.local_time(value) if isinstance(value, datetime) else value
    raise Fail(fmt.CASE, message, text(expected), text(got), code=CASE_MISMATCH)
