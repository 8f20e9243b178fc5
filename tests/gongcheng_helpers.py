"""Driving a shipped 工改 case through the engine: departments, opinions and the stages' first steps."""
from __future__ import annotations

from typing import Any

from engine import Actor, CompleteTask, StartCase, ensure_calendar_seeded
from engine.org_file import parse_org_file
from tests.helpers import CLERK, GUIHUA, XIAOFANG, ZHUJIAN, deploy_shipped

FAGAI = Actor("reviewer_fg", ("reviewer",), "500103", "fagai")
SHENGTAI = Actor("reviewer_st", ("reviewer",), "500103", "shengtai")
AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")
DEPARTMENT = {"fagai": FAGAI, "guihua": GUIHUA, "zhujian": ZHUJIAN, "xiaofang": XIAOFANG, "shengtai": SHENGTAI}
OUTPUT_KEY = {"s1_review": "s1_approved", "s2_design": "design_approved", "s2_review": "s2_approved"}
GC_ACCEPT = {"materials_complete": True, "accept_note": "材料齐全，予以受理"}
GC_PASS = {"stage_passed": "pass", "stage_conclusion": "各部门意见均同意，本阶段办结", "approval_doc_no": "渝中工改〔2026〕1号"}
GC_FAIL = {"stage_passed": "fail", "stage_conclusion": "并联审批事项均不同意，本阶段不予许可"}


def opinion(element: str, verdict: str) -> dict[str, Any]:
    """A department's opinion at a 工改 multi-instance element (each element has its own output key)."""
    return {OUTPUT_KEY[element]: verdict, "opinion": "同意" if verdict == "approve" else "不符合要求"}


def gongcheng_case(engine: Any, category: str) -> int:
    """A 工改 case of ``category`` received at 渝中区's window, with 人防 added to the district."""
    ensure_calendar_seeded(engine)
    engine.org.load(parse_org_file("departments:\n  - {district: '500103', code: renfang, name: 人民防空办公室}\n",
                                   "yaml"))
    deploy_shipped(engine)
    return engine.handle(StartCase("gongcheng", CLERK, title="渝中区某综合楼工程建设审批", data={
        "project_name": "渝中区某综合楼", "project_category": category})).case_id


def gc_task(engine: Any, case_id: int, who: str, element: str) -> dict[str, Any]:
    """The one open task at ``element`` of the case in the department ``who``'s inbox."""
    found = [t for t in engine.queries.tasks(DEPARTMENT[who], limit=200).items
             if t["case_id"] == case_id and t["element_id"] == element and t["state"] == "open"]
    assert len(found) == 1, (who, element, found)
    return found[0]


def gc_do(engine: Any, case_id: int, who: str, element: str, data: dict[str, Any]) -> Any:
    """Complete the department ``who``'s open task at ``element`` with ``data``."""
    return engine.handle(CompleteTask(gc_task(engine, case_id, who, element)["id"], DEPARTMENT[who], data))


def gc_states(engine: Any, case_id: int, element: str) -> list[tuple[str, str]]:
    """(department, state) of every task the case had at ``element``, oldest first."""
    return [(t["candidate_groups"][0].rsplit("/", 1)[-1], t["state"])
            for t in engine.queries.case(CLERK, case_id)["tasks"] if t["element_id"] == element]


def open_elements(engine: Any, case_id: int) -> list[str]:
    """Element ids of the case's open tasks, in the order they were made."""
    return [t["element_id"] for t in engine.queries.case(CLERK, case_id)["tasks"] if t["state"] == "open"]


def event_count(engine: Any, case_id: int) -> int:
    """How many events the case has recorded so far (the number of the latest)."""
    return engine.queries.case(CLERK, case_id)["event_count"]


def case_data(engine: Any, case_id: int, seq: int | None = None) -> dict[str, Any]:
    """The case's process data as of event ``seq`` (default: the latest), as the auditor's history shows it."""
    return engine.history.state_at(AUDITOR, case_id, seq or event_count(engine, case_id))["data"]


def at_design_review(engine: Any) -> int:
    """A 一般社会投资 case whose stage 1 passed and whose stage 2 (设计方案会审, 三取二) is open."""
    case_id = gongcheng_case(engine, "social")
    gc_do(engine, case_id, "fagai", "s1_accept", GC_ACCEPT)
    gc_do(engine, case_id, "guihua", "s1_review", opinion("s1_review", "approve"))
    gc_do(engine, case_id, "fagai", "s1_review", opinion("s1_review", "approve"))
    gc_do(engine, case_id, "fagai", "s1_conclude", GC_PASS)
    gc_do(engine, case_id, "guihua", "s2_accept", GC_ACCEPT)
    return case_id
