"""Dates and times at the ends of the calendar (years 1 and 9999) are refused with their codes, never overflow.

Python's dates stop at 0001-01-01 and 9999-12-31: a metrics period or a report period whose end is computed
past them, or an edited inbox cursor whose time cannot be converted to UTC, used to raise ``ValueError`` or
``OverflowError`` deep inside (a 500 over HTTP) instead of the refusal the same input gets a year earlier.
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone
from typing import Any

import pytest

from engine import InvalidInput, MetricsQueryInvalid, report_period
from engine.inbox import decode_cursor, encode_cursor
from engine.metrics_period import resolve
from engine.persistence.models import NO_DEADLINE

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize("period", ["day", "week", "month", "year"])
@pytest.mark.parametrize("anchor", ["9999-12-31", "9999-12-25", "9999-12-27", "9999-01-15"])
def test_every_period_in_year_9999_is_too_late(period, anchor):
    with pytest.raises(MetricsQueryInvalid) as refused:
        resolve(TODAY, period=period, anchor=anchor)
    assert refused.value.code == "METRICS_RANGE_TOO_LATE"
    assert "晚于" in refused.value.message


@pytest.mark.parametrize("request_, code", [
    ({"period": "day", "anchor": "0001-01-01"}, "METRICS_RANGE_TOO_EARLY"),
    ({"period": "week", "anchor": "0001-01-01"}, "METRICS_RANGE_TOO_EARLY"),
    ({"period": "month", "anchor": "0001-01-31"}, "METRICS_RANGE_TOO_EARLY"),
    ({"period": "year", "anchor": "0001-12-31"}, "METRICS_RANGE_TOO_EARLY"),
    ({"first": "0001-01-01", "last": "0001-01-01"}, "METRICS_RANGE_TOO_EARLY"),
    ({"first": "9999-12-31", "last": "9999-12-31"}, "METRICS_RANGE_TOO_LATE"),
    ({"first": "0001-01-01", "last": "9999-12-31"}, "METRICS_RANGE_TOO_EARLY"),
])
def test_ranges_at_the_ends_of_the_calendar_are_refused_with_their_code(request_, code):
    with pytest.raises(MetricsQueryInvalid) as refused:
        resolve(TODAY, **request_)
    assert refused.value.code == code


def test_the_month_and_week_of_december_still_end_on_the_31st():
    assert (resolve(TODAY, period="month", anchor="2026-12-15").last, resolve(TODAY, period="week",
            anchor="2026-12-31").last) == (date(2026, 12, 31), date(2027, 1, 3))


@pytest.mark.parametrize("kind, text, code", [
    ("weekly", "9999-W52", "REPORT_PERIOD_NOT_OVER"),
    ("weekly", "9999-12-31", "REPORT_PERIOD_NOT_OVER"),
    ("monthly", "9999-12", "REPORT_PERIOD_NOT_OVER"),
    ("monthly", "9999-12-31", "REPORT_PERIOD_NOT_OVER"),
    ("daily", "9999-12-31", "REPORT_PERIOD_NOT_OVER"),
    ("weekly", "0001-W01", "REPORT_PERIOD_INVALID"),
    ("monthly", "0001-01", "REPORT_PERIOD_INVALID"),
    ("daily", "0001-01-01", "REPORT_PERIOD_INVALID"),
])
def test_report_periods_at_the_ends_of_the_calendar_are_refused_with_their_code(kind, text, code):
    with pytest.raises(InvalidInput) as refused:
        report_period(kind, text, TODAY)
    assert refused.value.code == code


# --- inbox cursors ---------------------------------------------------------------------------------------------

def edited(sort: str, keys: list[Any]) -> str:
    """An inbox cursor as a client could edit one."""
    raw = json.dumps({"s": sort, "o": "asc", "k": keys}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


EDITED = [
    ("due", [{"t": "2026-12-18T16:00:00"}, 6]),                       # naive: the column type refuses it
    ("due", [{"t": "0001-01-01T00:00:00+08:00"}, 6]),                 # before year 1 in UTC
    ("due", [{"t": "9999-12-31T23:59:59-12:00"}, 6]),                 # after 9999 in UTC
    ("due", [{"t": "1999-12-31T23:59:59+00:00"}, 6]),                 # before any row
    ("due", [{"t": "9999-12-31T00:00:01+00:00"}, 6]),                 # after the latest key (no deadline)
    ("due", [{"t": 20261218}, 6]),
    ("due", [{"t": "2026-12-18T16:00:00+08:00"}, float("inf")]),     # int() of infinity overflows
    ("due", [7, 6]),                                                  # a number where a time belongs
    ("created", [{"t": "2026-12-18T16:00:00+08:00"}, {"t": "2026-12-18T16:00:00+08:00"}]),
    ("light", [{"t": "2026-12-18T16:00:00+08:00"}, {"t": "2026-12-18T16:00:00+08:00"}, 6]),
    ("light", [1, 2, 6]),
]


@pytest.mark.parametrize("sort, keys", EDITED, ids=[json.dumps(k)[:60] for _, k in EDITED])
def test_an_edited_inbox_cursor_with_a_time_no_column_takes_is_invalid(sort, keys):
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(edited(sort, keys), sort, "asc")
    assert (refused.value.code, refused.value.message) == ("INVALID_INPUT", "分页游标无效")


def test_the_cursors_the_inbox_makes_still_decode():
    due = datetime(2026, 12, 18, 16, tzinfo=timezone.utc)
    assert decode_cursor(encode_cursor("due", "asc", [NO_DEADLINE, 6]), "due", "asc") == [NO_DEADLINE, 6]
    assert decode_cursor(encode_cursor("light", "desc", [1, due, 6]), "light", "desc") == [1, due, 6]
    at_cst = decode_cursor(edited("created", [{"t": "2026-12-19T00:00:00+08:00"}, 6]), "created", "asc")
    assert at_cst == [due, 6]
