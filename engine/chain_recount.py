"""Recount sealed days from the events there now: what the heads' own links and lists cannot show.

:mod:`engine.chain_heads` checks that every sealed event is still there, unchanged, and that each head links
to the district's previous one. Three changes pass those checks, and a recount of the sealed day finds them:

* a district's head deleted while the district still has events that day (its **latest** head: no later
  head links to it, so the link check is silent);
* an event written into a sealed day after it was sealed (back-dated, or a command still committing when
  the day was sealed): the day then has an event, or a case, its head does not list;
* a case moved to another district (``cases.owning_district`` edited): its sealed entries sit under one
  district and its events now count under another.

A sealed day is recounted exactly as it was sealed (:func:`engine.persistence.audit_repository.day_heads_query`)
and compared with the heads of that day. A district whose head was deleted together with every event it
sealed leaves nothing to recount; only an anchor outside the database shows that.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Iterator

from sqlalchemy import func, select

from .chain_heads import NO_DISTRICT, HeadProblem, day_bounds, entries_problems, heads_problems
from .clock import CST
from .persistence.audit_repository import day_heads_query
from .persistence.models import Case, CaseEvent, ChainHead, ChainHeadCase

NO_HEAD = "该日有 {events} 个事件（{cases} 个办件），却没有封存的链头（链头被删除）"
NOT_LISTED = "该日有事件（至第 {seq} 个），封存的清单中却没有这个办件（事件在封存后写入）"
WRITTEN_AFTER = "封存时该日最后一个事件是第 {sealed} 个，现在该日有第 {seq} 个（事件在封存后写入）"
MOVED = "封存时属于区县 {sealed}，现在属于区县 {now}（办件的业务属地被改动）"
COUNT_DIFFERS = "封存时该日有 {sealed} 个事件，现在有 {now} 个"


def check_chain_heads(engine: Any) -> Iterator[HeadProblem]:
    """Yield every problem with the sealed heads, read in one snapshot of the database.

    Edited or deleted heads and lists (:func:`~engine.chain_heads.heads_problems`), sealed events cut or
    replaced (:func:`~engine.chain_heads.entries_problems`), then what a recount of each sealed day shows
    beyond those (:func:`check_sealed_days`).
    """
    with engine.database.snapshot() as session:
        edited = set()
        for problem in heads_problems(session):
            edited.add((problem.district, problem.day))
            yield problem
        reported = set()
        for problem in entries_problems(session):
            reported.add(problem.case_no)
            yield problem
        yield from check_sealed_days(session, reported=frozenset(reported), edited=frozenset(edited))


def check_sealed_days(session: Any, *, reported: frozenset[str] = frozenset(),
                      edited: frozenset[tuple[str, date]] = frozenset()) -> Iterator[HeadProblem]:
    """Recount every day up to the last sealed one and yield what its heads do not account for.

    Days are sealed in order from the first event's, every district of a day together, so every day from
    the first event's to the last sealed one is recounted, those without any head too. ``reported`` holds
    case numbers whose sealed events are already reported missing or replaced, and ``edited`` the (district,
    day) of heads already reported edited: their recount differs for that reason, so they are not reported
    twice.
    """
    last = session.scalar(select(func.max(ChainHead.day)))
    if last is None:
        return
    first_event = session.scalar(select(func.min(CaseEvent.occurred_at)))
    first = min(session.scalar(select(func.min(ChainHead.day))),
                first_event.astimezone(CST).date() if first_event is not None else last)
    for offset in range((last - first).days + 1):
        yield from _day_problems(session, first + timedelta(days=offset), reported, edited)


def _day_problems(session: Any, day: date, reported: frozenset[str],
                  edited: frozenset[tuple[str, date]]) -> Iterator[HeadProblem]:
    heads = {h.district: h for h in session.scalars(select(ChainHead).where(ChainHead.day == day))}
    listed: dict[str, dict[int, Any]] = defaultdict(dict)
    for district, entry in session.execute(
            select(ChainHead.district, ChainHeadCase).join(ChainHead, ChainHead.id == ChainHeadCase.head_id)
            .where(ChainHead.day == day)):
        listed[district][entry.case_id] = entry
    sealed_in = {case_id: district for district, entries in listed.items() for case_id in entries}
    now: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(day_heads_query(*day_bounds(day))):
        now[row.district].append(row)
    # A case moved to another district explains both districts' counts: it is reported, they are not.
    moved = {(d, row.case_id): sealed_in[row.case_id] for d, rows in now.items() for row in rows
             if sealed_in.get(row.case_id, d) != d and row.case_no not in reported}
    explained = {d for key, source in moved.items() for d in (key[0], source)}
    for district in sorted(set(now) | set(heads)):
        rows = [r for r in now.get(district, []) if r.case_no not in reported]
        for row in rows:
            if (district, row.case_id) in moved:
                yield HeadProblem(district, day, row.case_no, row.seq,
                                  MOVED.format(sealed=moved[district, row.case_id], now=district), None, row.hash)
        rows = [r for r in rows if (district, r.case_id) not in moved]
        head = heads.get(district)
        if head is None:
            if rows:
                yield HeadProblem(district, day, None, None,
                                  NO_HEAD.format(events=sum(r.n for r in rows), cases=len(rows)))
            continue
        problems = list(_case_problems(district, day, rows, listed.get(district, {})))
        yield from problems
        counted = sum(r.n for r in now.get(district, []))
        if (not problems and counted != head.event_count and district not in explained
                and (district, day) not in edited and not _reported(listed.get(district, {}), reported)):
            yield HeadProblem(district, day, None, None, COUNT_DIFFERS.format(sealed=head.event_count, now=counted))


def _case_problems(district: str, day: date, rows: list[Any], entries: dict[int, Any]) -> Iterator[HeadProblem]:
    for row in rows:
        entry = entries.get(row.case_id)
        if entry is None:
            yield HeadProblem(district, day, row.case_no, row.seq, NOT_LISTED.format(seq=row.seq), None, row.hash)
        elif row.seq > entry.seq:
            yield HeadProblem(district, day, row.case_no, row.seq,
                              WRITTEN_AFTER.format(sealed=entry.seq, seq=row.seq), entry.hash, row.hash)


def _reported(entries: dict[int, Any], reported: frozenset[str]) -> bool:
    return any(e.case_no in reported for e in entries.values())


def case_days_problem(session: Any, case_id: int) -> HeadProblem | None:
    """The first sealed day of one case that its district's head does not account for, if any.

    For each day up to the last sealed one on which the case has events, the head of the case's district
    must list it, with that day's last event. An entry that is missing or different is
    :func:`engine.chain_heads.first_sealed_problem`'s to report; this finds the rest: the day's head gone,
    the case not listed, listed under another district, or an event of that day written after the seal.
    """
    last_sealed = session.scalar(select(ChainHead.day).order_by(ChainHead.day.desc()).limit(1))
    case = session.execute(select(Case.case_no, Case.owning_district).where(Case.id == case_id)).one_or_none()
    if last_sealed is None or case is None:
        return None
    district = case.owning_district or NO_DISTRICT
    last_of_day: dict[date, tuple[int, str]] = {}
    for seq, at, digest in session.execute(select(CaseEvent.seq, CaseEvent.occurred_at, CaseEvent.hash)
                                           .where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)):
        day = at.astimezone(CST).date()
        if day <= last_sealed:
            last_of_day[day] = (seq, digest)   # events are in seq order: the last one of each day wins
    if not last_of_day:
        return None
    entries = {(row.day, row.district): row for row in session.execute(
        select(ChainHead.day, ChainHead.district, ChainHeadCase.seq, ChainHeadCase.hash)
        .join(ChainHead, ChainHead.id == ChainHeadCase.head_id).where(ChainHeadCase.case_id == case_id))}
    districts_with_heads = set(session.execute(
        select(ChainHead.day, ChainHead.district).where(ChainHead.day.in_(last_of_day),
                                                        ChainHead.district == district)))
    for day, (seq, digest) in sorted(last_of_day.items()):
        entry = entries.get((day, district))
        if entry is None:
            elsewhere = next((d for (on, d) in entries if on == day), None)
            if elsewhere is not None:
                reason = MOVED.format(sealed=elsewhere, now=district)
            elif (day, district) not in districts_with_heads:
                reason = "该日有事件，却没有封存的链头（链头被删除）"
            else:
                reason = NOT_LISTED.format(seq=seq)
            return HeadProblem(district, day, case.case_no, seq, reason, None, digest)
        if seq > entry.seq:
            return HeadProblem(district, day, case.case_no, seq, WRITTEN_AFTER.format(sealed=entry.seq, seq=seq),
                               entry.hash, digest)
    return None
