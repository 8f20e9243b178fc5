"""The SQL behind the metrics: flows per day, the completed cases' working days, the running cohort.

Everything is an aggregate over stored columns (``cases`` and the ``metric_daily`` rollup), spelled for both
SQLite and PostgreSQL with SQLAlchemy Core. Days are Beijing business days (UTC+8, no daylight saving).

* **flows** count events by the day they happened: received (``started_at``), accepted (``accepted_at``)
  and completed (``ended_at``), with the facts of completed cases (one visit, 补正, 容缺, late, working
  days used and limits) and cross-district receipts. :func:`flow_facts` reads them from ``cases`` for a
  span of instants; the rollup stores the same rows per past day.
* **working days** of the completed cases come as a histogram (:func:`histogram`), from which the caller
  reads the 90th percentile.
* **cohort** (:func:`cohort`): of the cases received in the period, those running now, overdue and near due.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date, Integer, and_, case, cast, func, literal, literal_column, or_, select, true, type_coerce, union_all,
)
from sqlalchemy.sql import ColumnElement, Select

from .persistence.models import Case, MetricCityDaily, MetricDaily

cases = Case.__table__
NOT_APPLICATIONS = ("chaping_zhenggai", "yidi_shoujian")
"""Processes whose cases the metrics leave out: a 差评整改 case follows a rating and is no application, and an
异地代收代办 application is two linked cases, of which the owning district's (with the same matter, both
districts and the decision) is counted, so the receiving window's leg would count it twice."""
daily = MetricDaily.__table__
city = MetricCityDaily.__table__

MEASURES = ("received", "accepted", "completed", "cross_district", "one_visit", "corrected", "tolerated",
            "late_legal", "late_committed", "legal_cases", "legal_used_sum", "legal_limit_sum", "committed_cases",
            "committed_used_sum", "committed_limit_sum")
KEYS = {"district": "owning_district", "department": "department", "matter": "matter_code", "day": "day"}


@dataclass(frozen=True)
class Filters:
    """Which cases count: one owning district, department and matter (None: all)."""

    district: str | None = None
    department: str | None = None
    matter: str | None = None

    @property
    def none(self) -> bool:
        """True when every case counts (the city-level rollup answers)."""
        return self.district is None and self.department is None and self.matter is None

    def on(self, table: Any) -> list[ColumnElement[bool]]:
        """Return the WHERE conditions for ``table`` (``cases`` or the rollup)."""
        conditions = [table.c.process_key.notin_(NOT_APPLICATIONS)] if table is cases else []
        for name, column in (("district", "owning_district"), ("department", "department"),
                             ("matter", "matter_code")):
            value = getattr(self, name)
            if value is not None:
                conditions.append(table.c[column] == value)
        return conditions


def day_of(column: Any, dialect: str) -> Any:
    """The Beijing business date of a stored UTC instant, as a SQL expression typed ``Date``."""
    if dialect == "postgresql":
        local = func.timezone("UTC", column) + literal_column("interval '8 hours'")
        return type_coerce(func.date(local), Date)
    return type_coerce(func.date(column, "+8 hours"), Date)


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def flow_facts(dialect: str, start: datetime, end: datetime, filters: Filters) -> Select[Any]:
    """Return flows per (day, district, department, matter) for events in ``[start, end)``, from ``cases``.

    Missing districts, departments and matters group under ``''``, as in the rollup.
    """
    c = cases.c
    names = ["day", "owning_district", "department", "matter_code", *MEASURES]

    def branch(day: Any, values: dict[str, Any], *where: Any) -> Select[Any]:
        # Every column labelled: SQLAlchemy would fold repeated literal columns of one SELECT into one.
        common = [day, func.coalesce(c.owning_district, ""), func.coalesce(c.department, ""),
                  func.coalesce(c.matter_code, "")]
        measures = [values.get(m, literal(0, Integer)) for m in MEASURES]
        return select(*[v.label(n) for v, n in zip(common + measures, names)]).where(*where, *filters.on(cases))
    one = literal(1, Integer)
    cross = _flag(and_(c.receiving_district.is_not(None), c.owning_district.is_not(None),
                       c.receiving_district != c.owning_district))
    received = branch(day_of(c.started_at, dialect), {"received": one, "cross_district": cross},
                      c.started_at >= start, c.started_at < end)
    accepted = branch(day_of(c.accepted_at, dialect), {"accepted": one}, c.accepted_at >= start, c.accepted_at < end)
    completed = branch(day_of(c.ended_at, dialect), {
        "completed": one, "one_visit": _flag(c.visits <= 1), "corrected": _flag(c.corrections > 0),
        "tolerated": _flag(c.tolerance.is_(True)), "late_legal": _flag(c.legal_late.is_(True)),
        "late_committed": _flag(c.committed_late.is_(True)),
        "legal_cases": _flag(c.legal_used_days.is_not(None)), "legal_used_sum": func.coalesce(c.legal_used_days, 0),
        "legal_limit_sum": func.coalesce(c.legal_limit_days, 0),
        "committed_cases": _flag(c.committed_used_days.is_not(None)),
        "committed_used_sum": func.coalesce(c.committed_used_days, 0),
        "committed_limit_sum": func.coalesce(c.committed_limit_days, 0),
    }, c.status == "completed", c.ended_at >= start, c.ended_at < end)
    rows = union_all(received, accepted, completed).subquery("facts")
    grouped = [rows.c[n] for n in names[:4]]
    return select(*grouped, *[func.sum(rows.c[m]).label(m) for m in MEASURES]).group_by(*grouped)


def hist_facts(dialect: str, start: datetime, end: datetime) -> Select[Any]:
    """Count the cases completed in ``[start, end)`` per (day, district, department, matter, days used)."""
    c = cases.c
    keys = [day_of(c.ended_at, dialect).label("day"), func.coalesce(c.owning_district, "").label("owning_district"),
            func.coalesce(c.department, "").label("department"), func.coalesce(c.matter_code, "").label("matter_code"),
            c.legal_used_days, c.committed_used_days]
    return (select(*keys, func.count().label("n"))
            .where(c.status == "completed", c.ended_at >= start, c.ended_at < end,
                   c.process_key.notin_(NOT_APPLICATIONS)).group_by(*keys))


def _rollup(filters: Filters, key: str | None) -> Any:
    """The city-level rollup when every case counts and nothing is broken down by key, else the detailed one."""
    return city if filters.none and key in (None, "day") else daily


def flows(dialect: str, first: date, last: date, rolled_through: date | None, live: tuple[datetime, datetime] | None,
          filters: Filters, key: str | None) -> Select[Any]:
    """Sum the flows of days ``first``..``last`` by ``key`` (district, department, matter, day or None).

    Days up to ``rolled_through`` come from the rollup; ``live`` is the span of instants after it, read
    from ``cases``.
    """
    parts = []
    if rolled_through is not None and first <= rolled_through:
        table = _rollup(filters, key)
        t = table.c
        names = [t[n] if n in t else literal("").label(n) for n in ("owning_district", "department", "matter_code")]
        parts.append(select(t.day, *names, *[t[m] for m in MEASURES])
                     .where(t.day >= first, t.day <= min(last, rolled_through), *filters.on(table)))
    if live is not None:
        parts.append(flow_facts(dialect, live[0], live[1], filters))
    if not parts:
        raise ValueError("a period needs rolled-up days or a live span")
    rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("flows")
    sums = [func.coalesce(func.sum(rows.c[m]), 0).label(m) for m in MEASURES]
    if key is None:
        return select(*sums)
    column = rows.c[KEYS[key]]
    return select(column.label("key"), *sums).group_by(column)


def rolled_hists(dialect: str, first: date, last: date, filters: Filters, key: str | None) -> Any:
    """The rolled-up working-day histograms of days ``first``..``last``: rows of (key, clock, days, n).

    The JSON histograms are unnested and summed in the database (``jsonb_each_text`` / ``json_each``), so
    a year of detailed rows never travels to Python.
    """
    table = _rollup(filters, key)
    each_of = func.jsonb_each_text if dialect == "postgresql" else func.json_each
    parts = []
    for clock in ("legal", "committed"):
        each = each_of(table.c[f"{clock}_hist"]).table_valued("key", "value", name=f"{clock}_days")
        days = cast(each.c.key, Integer)
        grouping = [days] if key is None else [table.c[KEYS[key]], days]
        columns = [literal(clock).label("clock"), days.label("days"), func.sum(cast(each.c.value, Integer)).label("n")]
        if key is not None:
            columns.insert(0, table.c[KEYS[key]].label("key"))
        parts.append(select(*columns).select_from(table.join(each, true()))
                     .where(table.c.day >= first, table.c.day <= last, *filters.on(table)).group_by(*grouping))
    return union_all(*parts)


def histogram(start: datetime, end: datetime, filters: Filters, key: str | None) -> Select[Any]:
    """Count completed cases by (working days used on the legal clock, on the committed clock)."""
    c = cases.c
    columns = [c.legal_used_days, c.committed_used_days]
    if key is not None:
        columns.insert(0, c[KEYS[key]].label("key"))
    return (select(*columns, func.count().label("n"))
            .where(c.status == "completed", c.ended_at >= start, c.ended_at < end, *filters.on(cases))
            .group_by(*columns))


def red(now: datetime) -> Any:
    """A running case past one of its deadlines at ``now``."""
    return or_(cases.c.legal_due_at <= now, cases.c.committed_due_at <= now)


def yellow(now: datetime) -> Any:
    """A running case near a deadline (past a yellow instant) and past none."""
    return and_(or_(cases.c.legal_yellow_at <= now, cases.c.committed_yellow_at <= now), ~red(now))


def cohort(start: datetime, end: datetime, now: datetime, filters: Filters, key: str | None) -> Select[Any]:
    """Of the cases received in ``[start, end)``: running now, overdue (legal, committed) and near due."""
    c = cases.c
    measures = [func.count().label("in_progress"),
                func.coalesce(func.sum(_flag(c.legal_due_at <= now)), 0).label("overdue_legal"),
                func.coalesce(func.sum(_flag(c.committed_due_at <= now)), 0).label("overdue_committed"),
                func.coalesce(func.sum(_flag(red(now))), 0).label("overdue"),
                func.coalesce(func.sum(_flag(yellow(now))), 0).label("near_due")]
    where = [c.status == "running", c.started_at >= start, c.started_at < end, *filters.on(cases)]
    if key is None:
        return select(*measures).where(*where)
    return select(c[KEYS[key]].label("key"), *measures).where(*where).group_by(c[KEYS[key]])


def earliest(first: Any, second: Any) -> Any:
    """The earlier of two nullable instants (portable LEAST that ignores NULL)."""
    return case((and_(first.is_not(None), or_(second.is_(None), first <= second)), first), else_=second)


def lights_list(start: datetime, end: datetime, now: datetime, filters: Filters, light: str,
                limit: int) -> Select[Any]:
    """Running cases received in ``[start, end)`` that are red (or yellow) now, the most urgent first.

    The most urgent ids are picked from the covering index of running cases alone; only they are read.
    """
    c = cases.c
    condition, order = (red(now), earliest(c.legal_due_at, c.committed_due_at)) if light == "red" else \
        (yellow(now), earliest(c.legal_yellow_at, c.committed_yellow_at))
    urgent = (select(c.id).where(c.status == "running", c.started_at >= start, c.started_at < end, condition,
                                 *filters.on(cases))
              .order_by(order, c.id).limit(limit))
    return (select(c.id, c.case_no, c.title, c.process_key, c.matter_code, c.owning_district,
                   c.receiving_district, c.department, c.started_at, c.accepted_at, c.stage, c.legal_due_at,
                   c.committed_due_at, c.legal_yellow_at, c.committed_yellow_at)
            .where(c.id.in_(urgent.scalar_subquery())).order_by(order, c.id))
