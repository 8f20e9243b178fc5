"""How many online applications (全程网办) one applicant account may make per day.

An account is one verified person, but nothing else bounds what it sends: each application stores its
uploads and opens a case in a district window's 网上预审 queue, so one account (or a script holding its
session) could fill both. ``TONGBAN_ONLINE_DAILY_LIMIT`` (20 by default; 0 lifts the limit) caps the
applications per account per Beijing date. Intake asks twice: before staging any upload (:func:`check`,
so a refused application writes nothing) and again in the transaction that opens the case, with the
account's row locked (:func:`check` with ``lock``), so applications sent together are counted in turn.
A window's intake for the same person is not counted: the clerk is the check there.
"""
from __future__ import annotations

from datetime import datetime, time, timezone

from .calendar import business_date
from .clock import CST
from .errors import TooManyAttempts

CODE = "ONLINE_DAILY_LIMIT"


def check(uow: object, account: str, limit: int, now: datetime, *, lock: bool = False) -> None:
    """Refuse an application of ``account`` when it already made ``limit`` today (Beijing date).

    Raises:
        TooManyAttempts: ``ONLINE_DAILY_LIMIT`` (HTTP 429), with the limit and the count in ``details``.
    """
    if limit <= 0:
        return
    midnight = datetime.combine(business_date(now), time(), tzinfo=CST).astimezone(timezone.utc)
    made = uow.applications.online_since(account, midnight, lock=lock)  # type: ignore[attr-defined]
    if made >= limit:
        raise TooManyAttempts(f"该账号今日已网上申报 {made} 件，每个账号每天最多 {limit} 件；请明日再试，或到窗口办理",
                              code=CODE, details={"limit": limit, "today": made})
