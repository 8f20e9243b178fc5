"""Supervision metrics (效能): what the dashboards, the API and the reports show, from stored columns only.

For a period (whole Beijing days) and optionally one owning district (业务属地), department and matter:

* flows: ``received`` (收件), ``accepted`` (受理) and ``completed`` (办结) by the day each happened;
* of the cases completed in the period: working days used on the 法定 and 承诺 clocks (average and 90th
  percentile, nearest rank) against their limits, 提速率 ``1 - used / limit`` (sums over the cases),
  ``late_*`` (closed after the due date), and the shares completed with at most one visit (最多跑一次), with
  a 补正 and with 容缺;
* of the cases received in the period: ``cross_district_rate`` (收件地 ≠ 业务属地) and, as of now, those
  ``in_progress``, overdue (``overdue_legal``, ``overdue_committed``, either: ``overdue``) and ``near_due``
  (yellow on a clock, red on none).

Supervisors of the city (500000) and administrators see every district; a district's supervisors see
their own district only.
"""
from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .calendar import business_date
from .clock import Clock
from .commands import Actor
from .errors import Forbidden, MatterUnavailable, UnknownDepartment, UnknownDistrict
from .metrics_period import Period, buckets, resolve
from .metrics_rollup import rolled_through
from .metrics_sql import Filters, cohort, flows, histogram, lights_list, rolled_hists
from .persistence.models import Department, District, MatterVersion

CITY = "500000"
VIEWERS = ("supervisor", "admin")
BREAKDOWNS = ("district", "department", "matter")
_COHORT = ("in_progress", "overdue_legal", "overdue_committed", "overdue", "near_due")


def p90(counts: Iterable[tuple[int | None, int]]) -> int | None:
    """The 90th percentile (nearest rank) of a histogram of (value, count); None when empty."""
    pairs = sorted((value, n) for value, n in counts if value is not None and n)
    total = sum(n for _value, n in pairs)
    if not total:
        return None
    rank, seen = math.ceil(0.9 * total), 0
    for value, n in pairs:
        seen += n
        if seen >= rank:
            return value
    return pairs[-1][0]


def _ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def measures(flow: dict[str, Any], legal: list[tuple[Any, int]], committed: list[tuple[Any, int]],
             now_counts: dict[str, Any] | None) -> dict[str, Any]:
    """Turn summed flows, the working-day histograms and the running cohort into the published figures."""
    out = {k: int(flow.get(k) or 0) for k in ("received", "accepted", "completed", "cross_district", "one_visit",
                                                "corrected", "tolerated", "late_legal", "late_committed")}
    out.update({k: int((now_counts or {}).get(k) or 0) for k in _COHORT})
    for kind, hist in (("legal", legal), ("committed", committed)):
        cases, used, limit = (int(flow.get(f"{kind}_{k}") or 0) for k in ("cases", "used_sum", "limit_sum"))
        out[f"{kind}_cases"] = cases
        out[f"{kind}_avg_days"] = round(used / cases, 2) if cases else None
        out[f"{kind}_p90_days"] = p90(hist)
        out[f"{kind}_avg_limit"] = round(limit / cases, 2) if cases else None
        out[f"{kind}_speedup"] = round(1 - used / limit, 4) if limit else None
    out["one_visit_rate"] = _ratio(out["one_visit"], out["completed"])
    out["correction_rate"] = _ratio(out["corrected"], out["completed"])
    out["tolerance_rate"] = _ratio(out["tolerated"], out["completed"])
    out["cross_district_rate"] = _ratio(out["cross_district"], out["received"])
    return out


class Metrics:
    """The metrics read side: every method checks who asks, then runs a few aggregates."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, calendar: Any = None):
        self.sessions = sessions
        self.clock = clock
        self.calendar = calendar

    def today(self) -> date:
        """The business date of the engine clock."""
        return business_date(self.clock.now())

    def scope(self, actor: Actor) -> str | None:
        """Return the only district ``actor`` may see, or None for every district.

        Raises:
            Forbidden: the actor is neither a supervisor nor an administrator.
        """
        if "admin" in actor.roles or ("supervisor" in actor.roles and actor.district == CITY):
            return None
        if "supervisor" in actor.roles and actor.district:
            return actor.district
        raise Forbidden("效能统计只对电子监察（督办）人员和管理员开放", code="METRICS_FORBIDDEN")

    def filters(self, actor: Actor, *, district: str | None = None, department: str | None = None,
                matter: str | None = None) -> Filters:
        """Check the filters against the organisation, the catalog and the actor's district.

        Raises:
            Forbidden: a district supervisor asks for another district (``METRICS_DISTRICT_FORBIDDEN``).
            UnknownDistrict, UnknownDepartment, MatterUnavailable: a code that does not exist.
        """
        mine = self.scope(actor)
        district, department, matter = (v.strip() if isinstance(v, str) and v.strip() else None
                                        for v in (district, department, matter))
        if mine is not None and district not in (None, mine):
            raise Forbidden(f"您只能查看本区县（{mine}）的效能数据", code="METRICS_DISTRICT_FORBIDDEN",
                            details={"district": district})
        with self.sessions() as session:
            if district and session.get(District, district) is None:
                raise UnknownDistrict(f"区县代码 {district} 不存在", details={"district": district})
            if department and session.scalar(select(Department.id).where(Department.code == department)
                                             .limit(1)) is None:
                raise UnknownDepartment(f"部门代码 {department} 不存在", details={"department": department})
            if matter and session.scalar(select(MatterVersion.id).where(MatterVersion.code == matter)
                                         .limit(1)) is None:
                raise MatterUnavailable(f"事项 {matter} 不在事项目录中", code="MATTER_NOT_FOUND",
                                        details={"matter": matter})
        return Filters(district or mine, department, matter)

    def period(self, **request: Any) -> Period:
        """Resolve ``period``/``anchor`` or ``first``/``last`` against today (see :func:`metrics_period.resolve`)."""
        return resolve(self.today(), **request)

    def summary(self, period: Period, filters: Filters) -> dict[str, Any]:
        """Every figure for the period and filters, as one flat dict."""
        return self._figures(period, filters, None)[None]

    def breakdown(self, period: Period, filters: Filters, by: str) -> list[dict[str, Any]]:
        """The figures per district, department or matter (those with any case), busiest first."""
        if by not in BREAKDOWNS:
            raise ValueError(by)
        figures = self._figures(period, filters, by)
        names = self.names(by)
        rows = [{"key": key, "name": names.get(key, key) if key else "未指定", **values}
                for key, values in figures.items()]
        return sorted(rows, key=lambda r: (-r["received"], -r["completed"], r["key"]))

    def trend(self, period: Period, filters: Filters, interval: str) -> list[dict[str, Any]]:
        """The flows and completed-case figures per day, week, month or year of the period."""
        parts = buckets(period, interval)
        with self.sessions() as session:
            rows = {self._day(r.key): dict(r._mapping) for r in session.execute(
                self._flows(session, period, filters, "day"))}
        out = []
        for part in parts:
            total: dict[str, Any] = {}
            for offset in range(part.days):
                for name, value in rows.get(part.first + timedelta(days=offset), {}).items():
                    if name != "key":
                        total[name] = total.get(name, 0) + int(value or 0)
            figures = {k: v for k, v in measures(total, [], [], None).items()
                       if k not in _COHORT and not k.endswith("_p90_days")}
            out.append({"from": part.first.isoformat(), "to": part.last.isoformat(), "label": part.key, **figures})
        return out

    def lights(self, period: Period, filters: Filters, *, light: str = "red",
               limit: int = 100) -> list[dict[str, Any]]:
        """Running cases received in the period that are overdue (``red``) or near due (``yellow``) now."""
        now, today = self.clock.now(), self.today()
        with self.sessions() as session:
            rows = session.execute(lights_list(period.start, period.end, now, filters, light, limit)).all()
        districts, matters = self.names("district"), self.names("matter")
        calendar = self.calendar.get() if self.calendar is not None else None
        out = []
        for r in rows:
            row = dict(r._mapping)
            red = [k for k in ("legal", "committed")
                   if row[f"{k}_due_at"] is not None and row[f"{k}_due_at"] <= now]
            due = min((row[f"{k}_due_at"] for k in ("legal", "committed") if row[f"{k}_due_at"] is not None),
                      default=None)
            overdue_days = None
            if red and due is not None:
                last_day = business_date(due) - timedelta(days=1)
                overdue_days = (calendar.working_days_between(last_day, today) if calendar is not None
                                else (today - last_day).days)
            row["case_id"] = row.pop("id")
            row.update(district_name=districts.get(row["owning_district"] or ""), red_clocks=red,
                       matter_name=matters.get(row["matter_code"] or "", row["matter_code"]),
                       overdue_workdays=overdue_days)
            out.append(row)
        return out

    def names(self, by: str) -> dict[str, str]:
        """Chinese names of districts, departments or matters by code (newest matter version)."""
        with self.sessions() as session:
            if by == "district":
                return {code: name for code, name in session.execute(select(District.code, District.name))}
            if by == "department":
                pairs = session.execute(select(Department.code, Department.name).order_by(Department.id)).all()
                return {code: name for code, name in reversed(pairs)}
            pairs = session.execute(select(MatterVersion.code, MatterVersion.name)
                                    .order_by(MatterVersion.version)).all()
            return dict(pairs)

    # --- internals ----------------------------------------------------------------------------------------

    def _flows(self, session: Session, period: Period, filters: Filters, key: str | None) -> Any:
        mark, live = self._split(session, period)
        return flows(session.get_bind().dialect.name, period.first, period.last, mark, live, filters, key)

    @staticmethod
    def _split(session: Session, period: Period) -> tuple[date | None, tuple[Any, Any] | None]:
        """The rollup's last day, and the span of instants after it that only ``cases`` holds (or None)."""
        mark = rolled_through(session.connection())
        live_first = period.first if mark is None else max(period.first, mark + timedelta(days=1))
        live = (Period(live_first, period.last).start, period.end) if live_first <= period.last else None
        return mark, live

    def _hists(self, session: Session, period: Period, filters: Filters,
               key: str | None) -> dict[Any, tuple[Counter[int], Counter[int]]]:
        """Working days used by the completed cases, as (legal, committed) histograms per key.

        Without a key the rolled-up histograms answer for the rolled-up days (the city's are 365 rows a
        year); a breakdown counts the completed cases themselves, through the covering index on ``ended_at``.
        """
        mark, live = self._split(session, period) if key is None else (None, (period.start, period.end))
        out: dict[Any, tuple[Counter[int], Counter[int]]] = {}
        if mark is not None and period.first <= mark:
            dialect = session.get_bind().dialect.name
            for r in session.execute(rolled_hists(dialect, period.first, min(period.last, mark), filters, key)):
                legal, committed = out.setdefault(_k(r, key), (Counter(), Counter()))
                (legal if r.clock == "legal" else committed)[int(r.days)] += int(r.n)
        if live is not None:
            for r in session.execute(histogram(live[0], live[1], filters, key)):
                legal, committed = out.setdefault(_k(r, key), (Counter(), Counter()))
                if r.legal_used_days is not None:
                    legal[r.legal_used_days] += r.n
                if r.committed_used_days is not None:
                    committed[r.committed_used_days] += r.n
        return out

    def _figures(self, period: Period, filters: Filters, key: str | None) -> dict[Any, dict[str, Any]]:
        now = self.clock.now()
        with self.sessions() as session:
            flow = {_k(r, key): dict(r._mapping)
                    for r in session.execute(self._flows(session, period, filters, key))}
            hist = self._hists(session, period, filters, key)
            running = {_k(r, key): dict(r._mapping)
                       for r in session.execute(cohort(period.start, period.end, now, filters, key))}
        keys = set(flow) | set(hist) | set(running) if key is not None else {None}
        out = {}
        for k in keys:
            legal, committed = hist.get(k, (Counter(), Counter()))
            out[k] = measures(flow.get(k, {}), list(legal.items()), list(committed.items()), running.get(k))
        return {k: v for k, v in out.items() if key is None or v["received"] or v["completed"] or v["in_progress"]
                or v["accepted"]}

    @staticmethod
    def _day(value: Any) -> date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))


def _k(row: Any, key: str | None) -> Any:
    return None if key is None else (row.key or "")

