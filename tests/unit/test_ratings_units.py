"""好差评 and 办件查询 without a database: rating checks, the applicant's stages and notice, the 差评整改 diagram."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine import BAD_SCORES, CHANNELS, CST, LEVELS, EngineConfig, InvalidInput, ManualClock, check_rating
from engine.calendar import WorkCalendar
from engine.case_clocks import start_clocks, summary
from engine.case_progress import current_pause, notice_of, progress, stage_of
from engine.definitions import ClockSpec
from engine.errors import WorkflowFailed
from engine.spiff.elements import end_event_names
from engine.spiff.runner import WorkflowRunner
from engine.spiff.script_env import safe_script_engine
from tests.unit.test_runner import SHIPPED, Case, specs

RECTIFICATION = SHIPPED / "chaping_zhenggai" / "main.bpmn"


def test_levels_are_the_gb_t_39046_a8_codes_where_1_is_the_best():
    assert LEVELS == {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
    assert BAD_SCORES == {4, 5}
    assert list(CHANNELS.values()) == ["PC端", "移动服务端", "二维码", "政务大厅平板电脑", "政务大厅其他终端", "电话", "短信"]


def test_a_valid_rating_keeps_its_trimmed_comment():
    assert check_rating(3, "6", "  电话回访时评价  ") == "电话回访时评价"
    assert check_rating(1, "1", None) == ""


def test_every_bad_field_of_a_rating_is_named_at_once_in_chinese():
    with pytest.raises(InvalidInput) as refused:
        check_rating(9, "9", 42)
    assert refused.value.code == "RATING_INVALID"
    assert set(refused.value.details["fields"]) == {"score", "channel", "comment"}
    assert "1 非常满意" in refused.value.details["fields"]["score"][0]


@pytest.mark.parametrize("score, channel, comment, field", [
    (False, "1", "", "score"), ("1", "1", "", "score"), (None, "1", "", "score"), (0, "1", "", "score"),
    ([4], "1", "", "score"), (1, ["1"], "", "channel"),
    (1, "0", "", "channel"), (1, None, "", "channel"), (5, "1", "", "comment"), (4, "1", " \n ", "comment"),
    (3, "1", "字" * 501, "comment"),
])
def test_a_rating_is_refused_for(score, channel, comment, field):
    with pytest.raises(InvalidInput) as refused:
        check_rating(score, channel, comment)
    assert list(refused.value.details["fields"]) == [field]


def test_the_rectification_deadline_must_be_a_sane_number_of_working_days():
    assert EngineConfig.from_mapping({"TONGBAN_RECTIFICATION_WORKDAYS": "5"}).rectification_workdays == 5
    assert EngineConfig().rectification_workdays == 15
    with pytest.raises(ValueError):
        EngineConfig(rectification_workdays=400)


def test_a_clock_that_starts_with_the_case_takes_its_length_from_the_start_data():
    spec = ClockSpec("committed", 15, "workday", amount_from="rectify_workdays")
    doc = start_clocks((spec,), datetime(2026, 11, 23, 9, tzinfo=CST), "x", {"rectify_workdays": 5})
    assert doc["committed"]["clock"]["budget"]["amount"] == 5
    with pytest.raises(WorkflowFailed):
        start_clocks((spec,), datetime(2026, 11, 23, 9, tzinfo=CST), "x", {})


# --- the applicant's view -------------------------------------------------------------------------------------

def ev(seq: int, kind: str, element: str | None = None, task: int | None = None, **payload) -> dict:
    return {"seq": seq, "event_type": kind, "element_id": element, "task_id": task, "payload": payload,
            "occurred_at": datetime(2026, 11, 23, 10, tzinfo=CST)}


PENDING = [{"kind": "committed", "status": "not_started", "budget": "5 个工作日"}]
RUNNING = [{"kind": "legal", "status": "running", "budget": "20 个工作日", "due_date": "2026-12-21", "left": 20},
           {"kind": "committed", "status": "running", "budget": "5 个工作日", "due_date": "2026-12-01", "left": 5}]
NOTICE = [ev(1, "CaseStarted"), ev(2, "TaskCompleted", "formal_review", 2),
          ev(3, "TaskCompleted", "correction_notice", 3, data={"correction_notice_no": "补 01", "missing_items": [
              {"item_name": "健康证明", "item_requirement": "原件"}]}),
          ev(4, "ClockPaused", "correction_notice", 3, reason_kind="correction", reason="一次性告知补正")]


def test_nobody_has_worked_the_case_yet_so_it_is_received():
    assert stage_of("running", [], [ev(1, "CaseStarted")]) == "received"
    assert stage_of("running", PENDING, [ev(1, "CaseStarted"), ev(2, "TaskCompleted", "receive", 1)]) == "received"


def test_a_one_time_notice_in_force_means_the_applicant_must_supply_what_it_lists():
    assert stage_of("running", PENDING, NOTICE) == "correction"
    notice = notice_of(current_pause(NOTICE), NOTICE)
    assert (notice["notice_no"], notice["items"]) == ("补 01", [{"name": "健康证明", "requirement": "原件"}])
    received = NOTICE + [ev(5, "TaskCompleted", "receive_correction", 4)]
    assert current_pause(received) is None and stage_of("running", PENDING, received) == "received"


def test_acceptance_then_review_then_a_special_procedure_and_its_end():
    accepted = NOTICE + [ev(5, "TaskCompleted", "receive_correction", 4), ev(6, "TaskCompleted", "accept", 5),
                         ev(7, "ClocksStarted", "accept", 5, clocks={})]
    assert stage_of("running", RUNNING, accepted) == "accepted"
    reviewed = accepted + [ev(8, "TaskCompleted", "review", 6)]
    assert stage_of("running", RUNNING, reviewed) == "reviewing"
    special = reviewed + [ev(9, "ClockPaused", reason_kind="special_procedure", reason="专家评审")]
    assert stage_of("running", RUNNING, special) == "special"
    assert notice_of(current_pause(special), special) is None
    assert stage_of("running", RUNNING, special + [ev(10, "ClockResumed")]) == "reviewing"


def test_a_pause_without_a_notice_task_tells_its_reason_as_the_item():
    events = [ev(1, "CaseStarted"), ev(2, "TaskCompleted", "accept", 1),
              ev(3, "ClockPaused", reason_kind="tolerance", reason="容缺材料：中标通知书")]
    notice = notice_of(current_pause(events), events)
    assert (notice["kind_label"], notice["items"]) == ("容缺补正", [{"name": "容缺材料：中标通知书", "requirement": ""}])


def test_a_notice_task_completed_while_the_window_had_already_paused_the_clocks_is_the_notice_shown():
    """The window paused for 补正 through the API first; the 一次性告知补正 task then listed every item."""
    events = [ev(1, "CaseStarted"), ev(2, "TaskCompleted", "receive", 1),
              ev(3, "ClockPaused", reason_kind="correction", reason="材料不齐，需补正"),
              ev(4, "TaskCompleted", "formal_review", 2, data={"intake_decision": "correction"}),
              ev(5, "TaskCompleted", "correction_notice", 3, data={"correction_notice_no": "BZ-2026-77", "missing_items": [
                  {"item_name": "排水水质检测报告", "item_requirement": "须为CMA章原件"},
                  {"item_name": "预处理设施说明", "item_requirement": "加盖公章"}]})]
    assert current_pause(events)["seq"] == 3
    notice = notice_of(current_pause(events), events)
    assert notice["notice_no"] == "BZ-2026-77"
    assert notice["items"] == [{"name": "排水水质检测报告", "requirement": "须为CMA章原件"},
                               {"name": "预处理设施说明", "requirement": "加盖公章"}]
    # before the notice task, the pause's own reason is all there is to tell
    assert notice_of(current_pause(events[:4]), events[:4])["items"] == [{"name": "材料不齐，需补正", "requirement": ""}]


def test_the_applicant_view_masks_id_and_mobile_numbers_staff_wrote_into_reasons_and_notice_items():
    events = [ev(1, "CaseStarted"), ev(2, "TaskCompleted", "correction_notice", 2, data={"missing_items": [
                  {"item_name": "申请人 500103199001011232 的身份证明", "item_requirement": "电话 13912345678 联系"}]}),
              ev(3, "ClockPaused", "correction_notice", 2, reason_kind="correction", reason="补正")]
    notice = notice_of(current_pause(events), events)
    assert notice["items"] == [{"name": "申请人 5001**********1232 的身份证明", "requirement": "电话 139****5678 联系"}]
    told = [ev(1, "CaseStarted"), ev(2, "ClockPaused", reason_kind="tolerance", reason="联系 13800138000")]
    assert notice_of(current_pause(told), told)["items"] == [{"name": "联系 138****8000", "requirement": ""}]
    (row,) = [r for r in progress("running", [{**RUNNING[0], "extended_days": 2,
                                               "extension_reason": "申请人 500103199001011232 材料待核"}], [],
                                  [ev(1, "CaseStarted")], {})["deadlines"]]
    assert row["extension_reason"] == "申请人 5001**********1232 材料待核"


def test_a_closed_case_tells_the_end_it_reached_and_a_failed_one_asks_to_contact_the_window():
    events = [ev(1, "CaseStarted"), ev(2, "FlowAdvanced", elements=["gw", "end_refused"]), ev(3, "CaseCompleted")]
    view = progress("completed", [], [], events, {"end_refused": "不予许可", "end_granted": "办结（准予许可）"})
    assert (view["stage_label"], view["result"], view["next_step"], view["deadlines"]) == ("已办结", "不予许可",
                                                                                             None, [])
    assert view["hint"] == "办件已办结。"
    assert progress("failed", [], [], events, {})["stage_label"] == "办理中断"


def test_deadlines_read_committed_first_and_say_how_they_start_before_acceptance():
    view = progress("running", PENDING + RUNNING[:1], [{"name": "受理"}, {"name": "受理"}], [ev(1, "CaseStarted")], {})
    assert view["next_step"] == "受理"
    assert [(d["label"], d["due_date"], d["rule"]) for d in view["deadlines"]] == [
        ("承诺办结期限", None, "受理之日起 5 个工作日"), ("法定办结期限", "2026-12-21", None)]


def test_the_clock_summary_feeds_the_view_unchanged():
    calendar = WorkCalendar({}, {2026})    # no holiday near the end of November
    doc = start_clocks((ClockSpec("committed", 5, "workday"),), datetime(2026, 11, 23, 9, tzinfo=CST), "x")
    rows = summary(doc, calendar, datetime(2026, 11, 23, 10, tzinfo=CST))
    (deadline,) = progress("running", rows, [], [ev(1, "CaseStarted")], {})["deadlines"]
    assert (deadline["due_date"], deadline["left"]) == ("2026-11-30", 5) and date(2026, 11, 30).weekday() == 0


# --- the 差评整改 diagram, restored between every step ----------------------------------------------------------

@pytest.fixture
def rectification():
    runner = WorkflowRunner(safe_script_engine(), ManualClock(datetime(2026, 11, 23, 9, tzinfo=CST)))
    spec, subs = specs(RECTIFICATION, "chaping_zhenggai")
    return Case(runner, spec, subs, {"department": "zhujian", "rectify_workdays": 15})


def test_rectify_then_a_satisfied_revisit_ends_rectified(rectification):
    assert [t.element_id for t in rectification.ready()] == ["rectify"]
    rectification.complete("rectify", action="rectify", measures="已整改")
    assert [t.element_id for t in rectification.ready()] == ["revisit"]
    last = rectification.complete("revisit", revisit_result="satisfied", revisit_note="满意")
    assert last.completed and "end_rectified" in last.advanced


def test_an_upheld_appeal_ends_without_a_revisit(rectification):
    rectification.complete("rectify", action="appeal", appeal_reason="误评")
    assert [t.element_id for t in rectification.ready()] == ["appeal_review"]
    last = rectification.complete("appeal_review", appeal_decision="upheld", appeal_opinion="属实")
    assert last.completed and "end_appeal_upheld" in last.advanced


def test_a_rejected_appeal_and_an_unsatisfied_revisit_loop_back_to_rectification(rectification):
    rectification.complete("rectify", action="appeal", appeal_reason="误评")
    rectification.complete("appeal_review", appeal_decision="rejected", appeal_opinion="不属实")
    for _ in range(3):
        assert [t.element_id for t in rectification.ready()] == ["rectify_more"]
        rectification.complete("rectify_more", measures="再整改")
        rectification.complete("revisit", revisit_result="unsatisfied", revisit_note="仍不满意")
    rectification.complete("rectify_more", measures="再整改")
    assert rectification.complete("revisit", revisit_result="unreachable", revisit_note="未接通").completed


def test_end_event_names_are_read_from_the_parsed_diagram():
    spec, subs = specs(RECTIFICATION, "chaping_zhenggai")
    assert end_event_names(spec, subs) == {"end_appeal_upheld": "申诉成立，评价撤销", "end_rectified": "整改完成"}
