"""Replay's walk: issue a command at each input event, compare what it wrote with the record, map the ids.

Every event the replay writes is compared with the recorded one at the same position by type, element, actor,
instant and payload (an old event without a field its type has since gained, without that field:
:mod:`engine.replay_shapes`); database ids are compared through the 1:1 mappings made where they are born.
Before each command the scratch database gets the calendar the command counted with (:func:`_calendar_for`).
When every event matched, the case row is compared (:mod:`engine.replay_case_row`).

A divergence's message quotes the record (an event type, a refused command's error, what a payload lacked), and
the record may come from a history file anyone wrote: each quoted part is :func:`~engine.file_echo.clipped`,
bounded and with every control character escaped, so the API, the page and the CLI show one short line.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from . import replay_case_row as case_row
from .audit import CALENDAR_GENERATION, STATE_DIGEST, canonical_json
from .case_history import CaseHistory, event_columns
from .clock import CST
from .errors import EngineError
from .file_echo import clipped
from .persistence.models import CalendarDay, CalendarImport, CaseEvent
from .replay_commands import _COMMANDS, _EFFECTS, ADMINISTRATIVE, _Run
from .replay_results import RecordedEvent, ReplayDivergence
from .replay_shapes import as_recorded

QUOTED_CHARS = 200
"""How much of a refused command's error, or of what a payload lacked, a divergence's message quotes (then ``…``)."""

# 好差评 events follow a case's end: the rating and what its 差评整改 case (a case of its own, replayed on
# its own) did. They are no input of this case's process, so replay stops before them; they must all come
# after the process part, and verify checks their hash chain like any other event. An administrative event
# (``TimerRetried``: an administrator closed a timer set aside on the ended case) may come among them too.
AFTER_END = frozenset({"CaseRated", "RectificationOpened", "RectificationClosed", "RatingRemoved"})


def _split_after_end(recorded: list[RecordedEvent]) -> tuple[list[RecordedEvent], RecordedEvent | None]:
    """Return the events before the first 好差评 event, and the first later one neither rating nor administrative."""
    for index, event in enumerate(recorded):
        if event.event_type in AFTER_END:
            stray = next((e for e in recorded[index:]
                          if e.event_type not in AFTER_END and e.event_type not in ADMINISTRATIVE), None)
            return recorded[:index], stray
    return recorded, None


_EVENTS_AFTER = (select(*event_columns(RecordedEvent))
                 .where(CaseEvent.case_id == bindparam("case_id"), CaseEvent.seq > bindparam("after"))
                 .order_by(CaseEvent.seq))   # built once: it is read after every replayed command


def _events(session: Any, case_id: int, after: int = 0) -> list[RecordedEvent]:
    rows = session.execute(_EVENTS_AFTER, {"case_id": case_id, "after": after})
    return [RecordedEvent(*row) for row in rows]


def _walk(run: _Run, recorded: list[RecordedEvent], until: int | None = None) -> ReplayDivergence | None:
    """Issue a command at each input event and compare what it wrote; stop at the first difference.

    With ``until``, stop before the first command whose input comes after event ``until``: the effects the
    command of event ``until`` wrote after it are still compared, as they were written in one transaction.
    """
    got: list[RecordedEvent] = []
    position = 0
    while position < len(recorded):
        event = recorded[position]
        if len(got) > position:
            divergence = _compare(run, event, got[position])
            if divergence is not None:
                return divergence
            position += 1
            continue
        if until is not None and event.seq > until:
            return None
        if event.event_type in _EFFECTS or event.event_type not in _COMMANDS:
            if event.event_type in _EFFECTS:
                return ReplayDivergence(event.seq, "missing", event.to_dict(), None,
                                        "记录中有此事件，重放未产生")
            return ReplayDivergence(event.seq, "unsupported", event.to_dict(), None,
                                    f"第 {event.seq} 个事件 {clipped(event.event_type)} 没有可重放的命令，重放不支持")
        if run.case_id is None and event.event_type != "CaseStarted":
            return ReplayDivergence(event.seq, "unsupported", event.to_dict(), None,
                                    f"第 {event.seq} 个事件 {clipped(event.event_type)} 出现在办件开始之前，重放不支持")
        run.clock.set(event.occurred_at.astimezone(CST))
        missing = _calendar_for(run, event)
        run.withheld.at(event.seq, event.event_type, event.occurred_at, missing)
        run.grants.apply(run.engine, event.occurred_at)
        try:
            try:
                _COMMANDS[event.event_type](run, event, recorded[position + 1:])
            finally:
                run.withheld.raise_if_refused()   # a year the history left out: refuse, whatever the command did
        except EngineError as exc:
            if exc is run.withheld.refused:
                raise
            return ReplayDivergence(event.seq, "refused", event.to_dict(), None,
                                    f"重放命令被拒绝：[{exc.code}] {clipped(exc.message, QUOTED_CHARS)}")
        except (KeyError, TypeError, ValueError) as exc:
            # A payload without the fields its command needs (edited, or from an older engine).
            return ReplayDivergence(event.seq, "refused", event.to_dict(), None,
                                    f"记录的输入无法重放：{clipped(repr(exc), QUOTED_CHARS)}")
        fresh = _replayed(run, after=len(got))
        if not fresh:
            return ReplayDivergence(event.seq, "missing", event.to_dict(), None, "重放命令未产生任何事件")
        got += fresh
    if len(got) > len(recorded):
        extra = _translate(run, got[len(recorded)], None)
        return ReplayDivergence(len(recorded) + 1, "extra", None, extra, "重放产生了记录中没有的事件")
    return None


def _case_row(run: _Run, history: CaseHistory, recorded: list[RecordedEvent]) -> ReplayDivergence | None:
    """Every event matched: compare the case row's clocks, due instants, status and end (:mod:`.replay_case_row`)."""
    found = case_row.differences(history.case, run.reader, run.case_id)
    if found is None:
        return None
    want, got = found
    return ReplayDivergence(recorded[-1].seq if recorded else 0, "case_row", want, got, case_row.message(want))


def _calendar_for(run: _Run, event: RecordedEvent) -> dict[int, datetime] | None:
    """Give the scratch database the calendar the command of ``event`` counted with.

    A command recorded with its calendar generation gets the calendar after that many loads, and the scratch's
    load log holds those loads, so the replayed command records the same generation; the versions in force then
    whose rows the history lacks are returned (the guard refuses a command that consults one). Any other command
    gets the facts in force at its instant: a year imported later is not there, a year replaced later holds its
    schedule from before the replacement (None is returned).
    """
    generation = event.payload.get(CALENDAR_GENERATION)
    run.by_generation = run.calendar.by_generation and isinstance(generation, int) \
        and not isinstance(generation, bool)
    if run.by_generation:
        rows, missing = run.calendar.at_generation(generation)
        _seed_calendar(run, ("generation", generation), rows, run.calendar.imports[:generation])
        return missing
    _seed_calendar(run, ("instant", *run.calendar.key(event.occurred_at)), run.calendar.in_force(event.occurred_at),
                   None)
    return None


def _seed_calendar(run: _Run, key: tuple[Any, ...], rows: list[dict[str, Any]],
                   imports: list[dict[str, Any]] | None) -> None:
    """Make the scratch's calendar ``rows`` (and its load log ``imports``, unless None), unless it holds them."""
    if key == run.calendar_seeded:
        return
    with run.engine.database.writer.begin() as conn:
        conn.execute(delete(CalendarDay.__table__))
        if rows:
            conn.execute(insert(CalendarDay.__table__), rows)
        if imports is not None:
            conn.execute(delete(CalendarImport.__table__))
            if imports:
                conn.execute(insert(CalendarImport.__table__), imports)
    run.calendar_seeded = key
    run.engine.calendar.invalidate()


def _replayed(run: _Run, *, after: int) -> list[RecordedEvent]:
    # Only the new ones (re-reading all is quadratic), on the run's connection: a session per command cost
    # a fifth of the replay. Ending the read lets the next one see the next command's commit.
    try:
        return _events(run.reader, run.case_id, after)
    finally:
        run.reader.rollback()


def _compare(run: _Run, expected: RecordedEvent, actual: RecordedEvent) -> ReplayDivergence | None:
    unmatched = () if run.by_generation else (CALENDAR_GENERATION,)
    want = _without(expected.to_dict(), STATE_DIGEST, *unmatched)
    # An event recorded before a field was added to its type is compared without it (replay_shapes).
    got = as_recorded(_without(_translate(run, actual, expected), STATE_DIGEST, *unmatched), want)
    if canonical_json(got) == canonical_json(want):
        return None
    differing = [key for key in want if canonical_json(want[key]) != canonical_json(got.get(key))]
    named = "、".join(dict.fromkeys(_COMPARED.get(key, key) for key in differing)) or "内容"
    return ReplayDivergence(expected.seq, "mismatch", want, got, f"记录与重放的{named}不同")


def _without(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The event without the chain's stamps ``keys`` in its payload, for the comparison.

    The snapshot digest (:data:`STATE_DIGEST`) always: the replay's snapshot holds its own task ids, so it is
    never the same; verification checks it against the stored snapshot (:mod:`engine.verification`). The
    calendar generation (:data:`CALENDAR_GENERATION`) when the command was not seeded by it (recorded before
    commands carried it, or a history whose calendar rows its load log does not account for): the scratch's own
    count then means nothing. Seeded by it, the replayed command records it again and it is compared.
    """
    payload = event["payload"]
    if not any(key in payload for key in keys):
        return event
    return {**event, "payload": {k: v for k, v in payload.items() if k not in keys}}


_COMPARED = {"seq": "序号", "event_type": "事件类型", "occurred_at": "时间", "actor": "办理人", "element_id": "环节",
             "task_id": "任务", "payload": "内容"}
"""What a mismatch names, per compared field of an event (the verdict table's row labels)."""


def _translate(run: _Run, actual: RecordedEvent, expected: RecordedEvent | None) -> dict[str, Any]:
    """Return the replayed event with its ids mapped into the record's; learn mappings where ids are born."""
    same_kind = expected is not None and expected.event_type == actual.event_type \
        and expected.element_id == actual.element_id
    if same_kind and actual.event_type == "TaskCreated" and actual.task_id not in run.tasks \
            and expected.task_id not in run.tasks.values():
        run.tasks[actual.task_id] = expected.task_id
        if "candidate_groups" in actual.payload:   # the task row's groups, fixed at creation
            run.groups[actual.task_id] = frozenset(actual.payload["candidate_groups"])
    payload = dict(actual.payload)
    if same_kind and actual.event_type == "SupervisionRaised" and payload.get("item_id") not in run.items \
            and expected.payload.get("item_id") not in run.items.values():
        run.items[payload["item_id"]] = expected.payload.get("item_id")
    if "item_id" in payload and actual.event_type.startswith("Supervision"):
        payload["item_id"] = run.items.get(payload["item_id"], f"replay:{payload['item_id']}")
    if same_kind and actual.event_type == "ExtensionRequested" and payload.get("request_id") not in run.requests \
            and expected.payload.get("request_id") not in run.requests.values():
        run.requests[payload["request_id"]] = expected.payload.get("request_id")
    if "request_id" in payload and actual.event_type.startswith("Extension"):
        payload["request_id"] = run.requests.get(payload["request_id"], f"replay:{payload['request_id']}")
    task_id = actual.task_id
    if task_id is not None:
        task_id = run.tasks.get(task_id, f"replay:{task_id}")
    return {**replace(actual, payload=payload).to_dict(), "task_id": task_id}
