"""办件查询's rating on SQLite and PostgreSQL: numbers in staff-entered text are masked as in the 补正 notice.

A window clerk may enter the applicant's rating (the comment is then staff text) and a department's upheld
appeal carries its reason into the view; 办件查询 needs only the 办件编号 and the query code, so neither may
show a full ID or mobile number.
"""
from __future__ import annotations

import json
import re
import unicodedata

import pytest

from engine import Actor, CompleteTask, RateCase, ensure_calendar_seeded
from tests.helpers import CLERK, deploy_shipped, open_task
from tests.rating_helpers import closed_case

HEAD = Actor("head_zj", ("department_head", "reviewer"), "500103", "zhujian")
CITY_SUPERVISOR = Actor("supervisor", ("supervisor",), "500000", "jiancha")
ID_NUMBER = "500103199001011232"
MOBILE = "13800138000"


@pytest.fixture
def eng(engine):
    """The shipped catalog and calendar."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    return engine


def leaked_numbers(view: dict) -> list[str]:
    """The full ID and mobile numbers of this test readable in ``view`` (full-width digits read as ASCII)."""
    text = unicodedata.normalize("NFKC", json.dumps(view, ensure_ascii=False, default=str))
    return [n for n in re.findall(r"(?<!\d)(?:\d{17}[\dXx]|1[3-9]\d{9})(?!\d)", text) if n in (ID_NUMBER, MOBILE)]


def test_the_public_lookup_masks_numbers_in_a_window_entered_rating_and_in_the_upheld_appeal(eng):
    case = closed_case(eng)
    eng.handle(RateCase(case.case_id, CLERK, 5, "5", f"申请人电话 {MOBILE} 反映窗口推诿，身份证 {ID_NUMBER}"))
    eng.handle(CompleteTask(open_task(eng, HEAD, "rectify")["id"], HEAD, {
        "action": "appeal", "appeal_reason": f"经核实评价人并非申请人（身份证号 {ID_NUMBER}，手机 {MOBILE}）"}))
    eng.handle(CompleteTask(open_task(eng, CITY_SUPERVISOR, "appeal_review")["id"], CITY_SUPERVISOR,
                            {"appeal_decision": "upheld", "appeal_opinion": "核实属误评"}))
    rating = eng.applicants.lookup(case.case_no, case.query_code, "198.51.100.7")["rating"]
    assert rating["status"] == "removed"
    assert leaked_numbers(rating) == []
    assert rating["comment"] == "申请人电话 138****8000 反映窗口推诿，身份证 5001**********1232"
    assert "5001**********1232" in rating["removed_reason"] and "138****8000" in rating["removed_reason"]


def test_a_rating_without_comment_or_removal_reads_as_before(eng):
    case = closed_case(eng)
    rating = eng.applicants.rate(case.case_no, case.query_code, "198.51.100.8", score=1, channel="2")["rating"]
    assert (rating["comment"], rating["removed_reason"], rating["level"]) == (None, None, "非常满意")
