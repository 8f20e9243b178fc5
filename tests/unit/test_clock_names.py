"""The Chinese names of the clocks and of the pause kinds: spelled once, on ClockKind and PauseKind.

Every surface that shows them reads these properties, so this pins each text people see, whichever surface
shows it (the pages' own tests check them in place).
"""
from __future__ import annotations

from datetime import datetime

from engine.case_progress import CLOCK_LABELS, notice_of
from engine.clock import CST
from engine.legal_clock_records import ClockKind, PauseKind, Segment, SegmentKind


def test_each_clock_has_a_name_and_the_qualifier_it_is_built_from():
    assert [(k.value, k.zh, k.short) for k in ClockKind] == [
        ("legal", "法定时限", "法定"), ("committed", "承诺时限", "承诺")]


def test_the_applicant_reads_each_clock_as_its_deadline():
    assert CLOCK_LABELS == {"legal": "法定办结期限", "committed": "承诺办结期限"}


def test_a_tolerance_pause_is_named_tolerance_for_staff_and_asks_the_applicant_for_its_correction():
    assert [(k.value, k.zh, k.notice_zh) for k in PauseKind] == [
        ("correction", "补正", "补正"), ("special_procedure", "特别程序", "特别程序"),
        ("tolerance", "容缺", "容缺补正")]
    pause = Segment(SegmentKind.PAUSED, datetime(2026, 3, 4, 10, tzinfo=CST), reason_kind=PauseKind.TOLERANCE)
    assert pause.label == "容缺"


def test_the_notice_of_each_pause_the_applicant_answers_says_what_it_asks_for():
    def notice(kind: str) -> str:
        events = [{"seq": 1, "event_type": "ClockPaused", "task_id": None, "occurred_at": None,
                   "payload": {"reason_kind": kind, "reason": "营业执照副本"}}]
        return notice_of(events[0], events)["kind_label"]

    assert (notice("correction"), notice("tolerance")) == ("补正", "容缺补正")
