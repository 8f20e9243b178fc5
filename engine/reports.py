"""Periodic supervision reports (通报): 日扫描, 周调度 and 月通报, one per district and period, written once.

* ``daily`` (日扫描) lists the lights that came on during the day: running cases whose 法定 or 承诺 deadline
  passed (new red) or whose yellow instant passed (new yellow) between 00:00 and 24:00 Beijing time. The
  worker scans each finished day after the last one scanned (at most 31 back), so no day is skipped.
* ``weekly`` (周调度, ISO week) and ``monthly`` (月通报) carry the metrics of the period (engine/metrics.py),
  the figures per matter and the cases overdue when the report was made.

Every district gets its report; ``500000`` (重庆市) gets the city-wide one with a row per district. A report
is inserted with its unique key (kind, district, period) and ``ON CONFLICT DO NOTHING``, so any number of
workers may produce the same period and each report exists exactly once.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from .calendar import business_date
from .clock import Clock
from .commands import Actor
from .errors import InvalidInput, NotFound
from .metrics import CITY, Metrics
from .metrics_period import EARLIEST, Period, around, parse_date
from .metrics_sql import Filters
from .persistence.models import Case, District, Report
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

KINDS = {"daily": "日扫描", "weekly": "周调度", "monthly": "月通报"}
PERIOD_KIND = {"daily": "day", "weekly": "week", "monthly": "month"}
CATCH_UP_DAYS = 31
MAX_LISTED = 1000
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def report_period(kind: str, text: str | None, today: date) -> Period:
    """The period a report of ``kind`` covers: ``2026-11-23``, ``2026-W48`` or ``2026-11`` (or any date in it).

    Without ``text``, the last finished one. Raises :class:`InvalidInput` for an unknown kind, text that
    is not a period, or a period not over yet (``REPORT_PERIOD_NOT_OVER``).
    """
    if kind not in KINDS:
        raise InvalidInput(f"通报类型“{kind}”无效，应为 daily（日扫描）、weekly（周调度）或 monthly（月通报）",
                           code="REPORT_KIND_INVALID")
    unit = PERIOD_KIND[kind]
    if not text:
        return around(unit, around(unit, today).first - timedelta(days=1))
    week, month = _WEEK.match(text.strip()), _MONTH.match(text.strip())
    try:
        if week and unit == "week":
            anchor = date.fromisocalendar(int(week[1]), int(week[2]), 1)
        elif month and unit == "month":
            anchor = date(int(month[1]), int(month[2]), 1)
        else:
            anchor = parse_date(text, "通报周期")
    except (ValueError, InvalidInput):
        raise InvalidInput(f"通报周期“{text[:20]}”无效，日扫描写 2026-11-23，周调度写 2026-W48，月通报写 2026-11",
                           code="REPORT_PERIOD_INVALID") from None
    chosen = around(unit, anchor)
    if chosen.last >= today:
        raise InvalidInput(f"{chosen.label} 尚未结束，不能生成{KINDS[kind]}", code="REPORT_PERIOD_NOT_OVER")
    if chosen.first < EARLIEST:
        raise InvalidInput(f"通报周期不能早于 {EARLIEST}", code="REPORT_PERIOD_INVALID")
    return chosen


class Reports:
    """Produce, list and read the 通报 (every reader is checked like the dashboards)."""

    def __init__(self, sessions: sessionmaker[Session], uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock,
                 metrics: Metrics):
        self.sessions, self.uow, self.clock, self.metrics = sessions, uow, clock, metrics

    def produce(self, kind: str, period: Period, *, by: str) -> tuple[int, int]:
        """Write the reports of every district for ``period`` that do not exist yet; return (new, existing)."""
        with self.sessions() as session:
            districts = dict(session.execute(select(District.code, District.name).order_by(District.code)).all())
            have = set(session.scalars(select(Report.district).where(
                Report.kind == kind, Report.period_key == period.key)))
        missing = [code for code in districts if code not in have]
        if not missing:
            return 0, len(have)
        now = self.clock.now()
        bodies = (self._daily(period, missing, districts) if kind == "daily"
                  else {code: self._periodic(period, code, districts) for code in missing})
        created = 0
        with self.uow() as uow:
            conn = uow.connection
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            for code in missing:
                body = {"kind": kind, "kind_name": KINDS[kind], "district": code, "district_name": districts[code],
                        "period": period.to_dict(), "generated_at": now.isoformat(), **bodies[code]}
                stmt = dialect.insert(Report).values(kind=kind, district=code, period_key=period.key,
                                                     period_start=period.first, period_end=period.last, body=body,
                                                     created_at=now, created_by=by)
                inserted = conn.execute(stmt.on_conflict_do_nothing(
                    index_elements=["kind", "district", "period_key"]).returning(Report.id)).scalar()
                created += inserted is not None
            uow.commit()
        return created, len(districts) - created

    def run_due(self, *, by: str) -> int:
        """Produce every report whose period has ended and is missing (the worker calls this); return new ones."""
        today = business_date(self.clock.now())
        created = 0
        for day in self._days_to_scan(today):
            created += self.produce("daily", Period(day, day, "day"), by=by)[0]
        for kind in ("weekly", "monthly"):
            created += self.produce(kind, report_period(kind, None, today), by=by)[0]
        return created

    def list(self, actor: Actor, *, kind: str | None = None, district: str | None = None,
             limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """The reports ``actor`` may read, newest period first (district supervisors: their district only)."""
        mine = self.metrics.scope(actor)
        stmt = (select(Report.id, Report.kind, Report.district, Report.period_key, Report.period_start,
                       Report.period_end, Report.created_at, Report.created_by)
                .order_by(Report.period_start.desc(), Report.kind, Report.district).limit(limit).offset(offset))
        if kind:
            stmt = stmt.where(Report.kind == kind)
        if mine is not None or district:
            stmt = stmt.where(Report.district == (mine or district))
        with self.sessions() as session:
            return [dict(row._mapping, kind_name=KINDS.get(row.kind, row.kind)) for row in session.execute(stmt)]

    def get(self, actor: Actor, report_id: int) -> dict[str, Any]:
        """One report with its body; NotFound when it does not exist or is another district's."""
        mine = self.metrics.scope(actor)
        with self.sessions() as session:
            row = session.get(Report, report_id)
        if row is None or (mine is not None and row.district != mine):
            raise NotFound("通报不存在或无权查看", details={"report_id": report_id})
        return {"id": row.id, "kind": row.kind, "district": row.district, "period_key": row.period_key,
                "period_start": row.period_start, "period_end": row.period_end, "created_at": row.created_at,
                "created_by": row.created_by, "body": row.body}

    # --- bodies -------------------------------------------------------------------------------------------

    def _days_to_scan(self, today: date) -> list[date]:
        yesterday = today - timedelta(days=1)
        with self.sessions() as session:
            last = session.scalar(select(func.max(Report.period_start)).where(Report.kind == "daily"))
        first = yesterday if last is None else max(last + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS))
        return [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]

    def _daily(self, period: Period, codes: list[str], names: dict[str, str]) -> dict[str, dict[str, Any]]:
        """New red and yellow lights of the day, per district; the city report counts them per district."""
        c = Case.__table__.c
        start, end = period.start, period.end
        lights = {"red": [("legal", c.legal_due_at), ("committed", c.committed_due_at)],
                  "yellow": [("legal", c.legal_yellow_at), ("committed", c.committed_yellow_at)]}
        found: dict[str, dict[str, list[dict[str, Any]]]] = {}
        matters = self.metrics.names("matter")
        with self.sessions() as session:
            for light, clocks in lights.items():
                stmt = (select(c.id, c.case_no, c.title, c.owning_district, c.matter_code, c.legal_due_at,
                               c.committed_due_at, *[col.label(f"at_{kind}") for kind, col in clocks])
                        .where(c.status == "running", or_(*[col.between(start, end - timedelta(microseconds=1))
                                                            for _kind, col in clocks]))
                        .order_by(c.owning_district, c.id))
                for row in session.execute(stmt):
                    for kind, _col in clocks:
                        at = getattr(row, f"at_{kind}")
                        if at is not None and start <= at < end:
                            found.setdefault(row.owning_district or "", {"red": [], "yellow": []})[light].append({
                                "case_id": row.id, "case_no": row.case_no, "title": row.title,
                                "matter_code": row.matter_code, "matter_name": matters.get(row.matter_code or ""),
                                "clock": kind, "at": at.isoformat(),
                                "due_at": (getattr(row, f"{kind}_due_at") or at).isoformat()})
        bodies = {}
        for code in codes:
            if code == CITY:
                rows = [{"district": d, "name": names.get(d, d or "未指定"), "new_red": len(v["red"]),
                         "new_yellow": len(v["yellow"])} for d, v in sorted(found.items())]
                bodies[code] = {"counts": {"new_red": sum(r["new_red"] for r in rows),
                                           "new_yellow": sum(r["new_yellow"] for r in rows)}, "by_district": rows}
                continue
            mine = found.get(code, {"red": [], "yellow": []})
            bodies[code] = {"counts": {"new_red": len(mine["red"]), "new_yellow": len(mine["yellow"])},
                            "new_red": mine["red"][:MAX_LISTED], "new_yellow": mine["yellow"][:MAX_LISTED],
                            "truncated": max(len(mine["red"]), len(mine["yellow"])) > MAX_LISTED}
        return bodies

    def _periodic(self, period: Period, code: str, names: dict[str, str]) -> dict[str, Any]:
        """The period's metrics, per matter (or per district for the city) and the cases overdue now."""
        filters = Filters(None if code == CITY else code)
        today = business_date(self.clock.now())
        ever = Period(max(EARLIEST, today - timedelta(days=3650)), today)
        body: dict[str, Any] = {"summary": self.metrics.summary(period, filters),
                                "by_matter": self.metrics.breakdown(period, filters, "matter")[:100],
                                "overdue": _jsonable(self.metrics.lights(ever, filters, light="red",
                                                                         limit=MAX_LISTED))}
        if code == CITY:
            body["by_district"] = self.metrics.breakdown(period, filters, "district")
        return body


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v.isoformat() if isinstance(v, (datetime, date)) else v for k, v in row.items()} for row in rows]
