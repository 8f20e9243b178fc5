"""办件查询 masks the ID and mobile numbers staff write into what the applicant reads, however they spell them.

Staff type numbers in groups (6-8-4 for an ID, 3-4-4 for a mobile) with blanks, hyphens or dots, half- or
full-width, or an old 15-digit ID; 办件查询 needs only the 办件编号 and the query code, so none of them may be
readable there (``engine.masking``, applied by ``engine.case_progress._told``). On SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
import re
import unicodedata

import pytest

from engine import CompleteTask, ensure_calendar_seeded
from tests.helpers import CLERK, deploy_shipped
from tests.rating_helpers import food_application, task_of

ID_NUMBER = "500103199001011232"
ID_OLD = "500103900101123"               # the same holder's first-generation, 15-digit number
MOBILE = "13800138000"

NOTICE_ITEMS = [
    {"item_name": "身份证复印件", "item_requirement": "申请人身份证号 500103 19900101 1232 与申请书不一致"},
    {"item_name": "户籍证明", "item_requirement": "证号写作 500103-19900101-1232，请核对"},
    {"item_name": "原房产证", "item_requirement": "登记的旧身份证号 500103900101123 须换为 18 位"},
    {"item_name": "联系方式", "item_requirement": "请核对联系电话 138　0013　8000（全角空格）"},
    {"item_name": "授权书", "item_requirement": "受托人电话 138－0013－8000 无法接通"},
    {"item_name": "委托书", "item_requirement": "受托人电话 138.0013.8000，身份证号 500103－19900101－1232"},
]


@pytest.fixture
def eng(engine):
    """The shipped catalog and calendar, with 渝中's window clerk."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.identity.create_user("window_yz", display_name="渝中窗口", roles=("window_clerk",), district="500103",
                                department="zwzx")
    return engine


def leaked_numbers(view: dict) -> list[str]:
    """Full ID numbers (18 or 15 digits) and mobile numbers readable in ``view``, however they were spelled.

    The text is read as a person reads it: full-width characters as their ASCII forms, and blanks, hyphens and
    dots between digits dropped (``500103 19900101 1232`` is the number ``500103199001011232``).
    """
    text = unicodedata.normalize("NFKC", json.dumps(view, ensure_ascii=False, default=str))
    joined = re.sub(r"(?<=\d)[\s\-.·]+(?=\d)", "", text)
    found = re.findall(r"(?<!\d)(?:\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?!\d)", joined)
    return [n for n in found if n in (ID_NUMBER, ID_OLD, MOBILE)]


def test_the_public_lookup_masks_id_and_mobile_numbers_staff_wrote_in_groups_or_old_form_into_the_notice(eng):
    """Each item of the one-time 补正 notice shows its numbers masked, in the shapes of the unsplit numbers."""
    case = food_application(eng)
    for element, data in (
            ("receive", {"applicant_name": "重庆某餐饮管理有限公司", "handling_mode": "standard",
                         "received_materials": "申请书等", "originals_checked": True}),
            ("formal_review", {"intake_decision": "correction", "review_note": "材料不齐"}),
            ("correction_notice", {"correction_notice_no": "渝中补〔2026〕08 号", "missing_items": NOTICE_ITEMS})):
        eng.handle(CompleteTask(task_of(eng, CLERK, element, case.case_id)["id"], CLERK, data))
    view = eng.applicants.lookup(case.case_no, case.query_code, "198.51.100.7")
    assert view["stage"] == "correction" and len(view["notice"]["items"]) == len(NOTICE_ITEMS)
    assert leaked_numbers(view["notice"]) == []
    told = [item["requirement"] for item in view["notice"]["items"]]
    assert told == ["申请人身份证号 5001** ******** 1232 与申请书不一致", "证号写作 5001**-********-1232，请核对",
                    "登记的旧身份证号 5001*******1123 须换为 18 位", "请核对联系电话 138　****　8000（全角空格）",
                    "受托人电话 138－****－8000 无法接通",
                    "受托人电话 138.****.8000，身份证号 5001**－********－1232"]
