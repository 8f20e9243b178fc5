"""The daily rollup behind the dashboards, and the backfill of case facts written before they existed.

:func:`roll_up` adds every finished day (up to yesterday, Beijing time) that is not rolled up yet to
``metric_daily`` and moves the watermark, in one transaction that holds the watermark row: any number of
workers may call it and each day is written once. A day is rolled up only when it is over, and the flows it
counts are events of that day, so its rows never change afterwards; days after the watermark are read from
``cases`` at query time. :func:`rebuild` starts over (after a backfill or a restore).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Callable

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .calendar import business_date
from .clock import CST
from .metrics_sql import MEASURES, Filters, flow_facts, hist_facts
from .persistence.models import Case, MetricCityDaily, MetricDaily, MetricWatermark
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

NAME = "daily"
BATCH = 5000
_daily = MetricDaily.__table__
_city = MetricCityDaily.__table__
_marks = MetricWatermark.__table__
_cases = Case.__table__


def rolled_through(connection: Any) -> date | None:
    """Return the last day in the rollup, or None before the first roll-up."""
    return connection.execute(select(_marks.c.day).where(_marks.c.name == NAME)).scalar()


def roll_up(uow_factory: Callable[[], SqlAlchemyUnitOfWork], now: datetime) -> int:
    """Roll up every finished day not rolled up yet; return how many days were added (0: up to date)."""
    yesterday = business_date(now) - timedelta(days=1)
    with uow_factory() as uow:
        conn = uow.connection
        _ensure_mark(conn, now, yesterday)
        lock = select(_marks.c.day).where(_marks.c.name == NAME)
        if conn.dialect.name == "postgresql":
            lock = lock.with_for_update()
        mark = conn.execute(lock).scalar_one()
        if mark >= yesterday:
            uow.commit()  # keeps a watermark created just now
            return 0
        first = mark + timedelta(days=1)
        _write_days(conn, first, yesterday)
        conn.execute(update(_marks).where(_marks.c.name == NAME).values(day=yesterday, updated_at=now))
        uow.commit()
    return (yesterday - first).days + 1


def rebuild(uow_factory: Callable[[], SqlAlchemyUnitOfWork], now: datetime) -> int:
    """Drop the rollup and its watermark, then roll up every finished day again; return the days written."""
    with uow_factory() as uow:
        uow.connection.execute(delete(_daily))
        uow.connection.execute(delete(_city))
        uow.connection.execute(delete(_marks).where(_marks.c.name == NAME))
        uow.commit()
    return roll_up(uow_factory, now)


def _ensure_mark(conn: Any, now: datetime, yesterday: date) -> None:
    """Create the watermark the first time: the day before the first case (or yesterday, with none)."""
    if rolled_through(conn) is not None:
        return
    earliest = conn.execute(select(func.min(_cases.c.started_at))).scalar()
    initial = business_date(earliest) - timedelta(days=1) if earliest is not None else yesterday
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(_marks).values(name=NAME, day=min(initial, yesterday), updated_at=now)
                 .on_conflict_do_nothing(index_elements=["name"]))


def _write_days(conn: Any, first: date, last: date) -> None:
    """Write the rollup rows of days ``first``..``last``: flows and working-day histograms per key and city."""
    start = datetime.combine(first, time(), CST)
    end = datetime.combine(last + timedelta(days=1), time(), CST)
    conn.execute(delete(_daily).where(_daily.c.day >= first, _daily.c.day <= last))
    conn.execute(delete(_city).where(_city.c.day >= first, _city.c.day <= last))
    dialect = conn.dialect.name
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in conn.execute(flow_facts(dialect, start, end, Filters())):
        key = (_day(r.day), r.owning_district, r.department, r.matter_code)
        rows[key] = {m: int(getattr(r, m) or 0) for m in MEASURES} | {"legal_hist": {}, "committed_hist": {}}
    for r in conn.execute(hist_facts(dialect, start, end)):
        row = rows[(_day(r.day), r.owning_district, r.department, r.matter_code)]
        for kind, used in (("legal", r.legal_used_days), ("committed", r.committed_used_days)):
            if used is not None:
                hist = row[f"{kind}_hist"]
                hist[str(used)] = hist.get(str(used), 0) + r.n
    city: dict[date, dict[str, Any]] = {}
    for (day, *_rest), row in rows.items():
        total = city.setdefault(day, {m: 0 for m in MEASURES} | {"legal_hist": {}, "committed_hist": {}})
        for m in MEASURES:
            total[m] += row[m]
        for name in ("legal_hist", "committed_hist"):
            for days, n in row[name].items():
                total[name][days] = total[name].get(days, 0) + n
    detail = [{"day": k[0], "owning_district": k[1], "department": k[2], "matter_code": k[3], **v}
              for k, v in rows.items()]
    for i in range(0, len(detail), BATCH):
        conn.execute(insert(_daily), detail[i:i + BATCH])
    if city:
        conn.execute(insert(_city), [{"day": day, **v} for day, v in city.items()])


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
