"""工改's per-stage legal clock over HTTP: extension requests and 补正 pauses across a 阶段办结.

Stage 1 is accepted Monday 2026-03-02 (legal 45 working days, committed runs across stages) and concluded on
03-04; stage 2 is accepted 03-09.
"""
from __future__ import annotations

from typing import Any

from app.runtime import get_engine

from .conftest import Caller
from .test_gongcheng import ACCEPT, PASS, Story, clock, people  # noqa: F401 (fixtures)
from .test_http_api import assert_error


def post(client: Any, caller: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json=body, headers=caller.headers)


def end_stage_1(story: Story) -> None:
    story.at(3, 4)
    story.review("s1_review", {"guihua": "approve", "fagai": "approve"})
    story.do("fagai", "s1_conclude", PASS)


def test_a_request_of_stage_1_lapses_when_the_stage_ends_and_never_extends_stage_2(app, client, people, clock):
    """QA F1: the stage-1 request stayed open, was approved into stage 2's fresh clock and used up its extension."""
    story = Story(client, people, clock, "social")
    story.do("fagai", "s1_accept", ACCEPT)
    ask = f"/api/v1/cases/{story.case_id}/clocks/extension-requests"
    body = {"clock": "legal", "days": 15, "reason": "用地预审需补充论证", "told_to_applicant": True}
    asked = post(client, people["fagai"], ask, body)
    assert asked.status_code == 201, asked.get_json()
    approve = f"/api/v1/extension-requests/{asked.get_json()['id']}/approve"
    end_stage_1(story)

    refused = assert_error(post(client, people["gov"], approve, {}), 409, "CLOCK_CLOSED")
    assert "时段已于 2026-03-04" in refused["message"] and "结束" in refused["message"]
    listed = client.get(f"/api/v1/extension-requests?state=all&case_id={story.case_id}",
                        headers=people["gov"].headers).get_json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [(r["id"], r["state"], r["state_label"]) for r in items] == [
        (asked.get_json()["id"], "lapsed", "已失效")]
    for state, expected in (("lapsed", [asked.get_json()["id"]]), ("open", [])):   # stored lapsed, listed so
        listed = client.get(f"/api/v1/extension-requests?state={state}&case_id={story.case_id}",
                            headers=people["gov"].headers).get_json()
        assert [r["id"] for r in (listed["items"] if isinstance(listed, dict) else listed)] == expected, state

    story.at(3, 9)
    story.do("guihua", "s2_accept", ACCEPT)                             # stage 2: a fresh 45-day period
    assert_error(post(client, people["gov"], approve, {}), 409, "CLOCK_CLOSED")
    legal = story.clocks()["legal"]
    assert (legal["periods"], legal["extended_days"], legal["extension_reason"]) == (2, 0, None)
    again = post(client, people["guihua"], ask, {**body, "reason": "设计方案需专家论证"})   # stage 2's own request
    assert again.status_code == 201, again.get_json()
    approved = post(client, people["gov"], f"/api/v1/extension-requests/{again.get_json()['id']}/approve", {})
    assert approved.status_code == 200, approved.get_json()
    legal = story.clocks()["legal"]
    assert (legal["extended_days"], legal["extension_reason"]) == (15, "设计方案需专家论证")
    kinds = [e.event_type for e in get_engine(app).queries.events(story.case_id)]
    assert kinds.count("DeadlineExtended") == 1


def test_a_direct_extension_between_stages_says_the_period_ended(client, people, clock):
    story = Story(client, people, clock, "social")
    story.do("fagai", "s1_accept", ACCEPT)
    end_stage_1(story)
    refused = assert_error(post(client, people["fagai"], f"/api/v1/cases/{story.case_id}/clocks/extension-requests",
                                {"clock": "legal", "days": 5, "reason": "复杂"}), 422, "CLOCK_NOT_STARTED")
    assert "本阶段的时段已结束" in refused["message"]


def paused_for_correction_across_stage_1(client, people, clock) -> tuple[Story, str, Caller]:
    """A social 工改 case accepted into stage 1, both clocks paused for 补正, then stage 1 ended."""
    story = Story(client, people, clock, "social")
    story.do("fagai", "s1_accept", ACCEPT)
    base = f"/api/v1/cases/{story.case_id}/clocks"
    clerk = people["clerk"]
    assert post(client, clerk, f"{base}/suspend", {"reason_kind": "correction", "reason": "补正规划条件"}).status_code \
        == 200
    end_stage_1(story)
    return story, base, clerk


def test_resume_after_a_correction_pause_spanning_a_stage_end_resumes_the_paused_clocks(app, client, people,
                                                                                        clock):
    """QA F2: resume {} was refused with the suspend's message, then with CLOCK_NOT_PAUSED for the legal clock,
    while the committed clock stayed paused."""
    story, base, clerk = paused_for_correction_across_stage_1(client, people, clock)
    clocks = story.clocks()
    assert (clocks["legal"]["status"], clocks["committed"]["light"]) == ("between_periods", "paused")

    story.at(3, 6)
    resumed = post(client, clerk, f"{base}/resume", {})
    assert resumed.status_code == 200, resumed.get_json()
    clocks = story.clocks()
    assert (clocks["legal"]["status"], clocks["committed"]["paused"]) == ("between_periods", False)
    (event,) = [e for e in get_engine(app).queries.events(story.case_id) if e.event_type == "ClockResumed"]
    assert list(event.payload["clocks"]) == ["committed"]
    refused = assert_error(post(client, clerk, f"{base}/resume", {}), 409, "CLOCK_NOT_PAUSED")
    assert "承诺时限正在计时" in refused["message"]
    waiting = assert_error(post(client, clerk, f"{base}/resume", {"clocks": ["legal"]}), 422, "CLOCK_NOT_STARTED")
    assert "补正告知" not in waiting["message"] and "没有可恢复的暂停" in waiting["message"]


def test_the_next_stage_s_acceptance_resumes_the_committed_clock_still_paused_for_correction(client, people,
                                                                                          clock):
    """受理 ends the 补正 (第三十二条第一款第五项): nobody has to resume the 承诺 clock by hand any more."""
    story, base, clerk = paused_for_correction_across_stage_1(client, people, clock)
    story.at(3, 9)
    story.do("guihua", "s2_accept", ACCEPT)
    assert {c["paused"] for c in story.clocks().values()} == {False}
    assert_error(post(client, clerk, f"{base}/resume", {}), 409, "CLOCK_NOT_PAUSED")
