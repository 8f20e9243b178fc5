"""metadata/case.json is tied to the event chain: its clocks, starter, stage and status, and old packages still verify."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from engine import verify_archive
from engine.archive_problems import CASE_MISMATCH, Fail
from tests.unit.archive_fixture import build, build_clocked, entries, rezip

OLD_PACKAGES = sorted((Path(__file__).resolve().parent.parent / "data" / "archives").glob("*-v1.zip"))
CASE = "metadata/case.json"


def check(tmp_path, data: bytes):
    path = tmp_path / "package.zip"
    path.write_bytes(data)
    return verify_archive(path)


def edited(package: bytes, change: Callable[[dict[str, Any]], None], *, manifest: bool = False) -> bytes:
    """The package with its case.json changed (and the manifest's case facts too), hashes fixed to match."""
    files = entries(package)
    case = json.loads(files[CASE])
    change(case)
    changes = {CASE: json.dumps(case, ensure_ascii=False, sort_keys=True, indent=2).encode()}
    if manifest:
        doc = json.loads(files["manifest.json"])
        change(doc["case"])
        changes["manifest.json"] = json.dumps(doc, ensure_ascii=False).encode()
    return rezip(package, change=changes, fix_manifest=True, case_no=json.loads(files["manifest.json"])["package"])


def legal(case):
    return case["clocks"]["legal"]["clock"]


def committed(case):
    return case["clocks"]["committed"]["clock"]


@pytest.mark.parametrize("path", OLD_PACKAGES, ids=lambda p: p.name)
def test_packages_written_in_format_version_1_still_verify(path):
    result = verify_archive(path)
    assert result.ok, result.problem
    manifest = json.loads(entries(path.read_bytes())["manifest.json"])
    assert manifest["format_version"] == 1
    assert "不在审计事件中" not in entries(path.read_bytes())["README.txt"].decode()


def test_a_new_package_is_format_version_4_and_its_readme_says_what_the_chain_does_not_protect(tmp_path):
    package = build_clocked()
    assert check(tmp_path, package).ok
    files = entries(package)
    assert json.loads(files["manifest.json"])["format_version"] == 4
    readme = files["README.txt"].decode()
    assert "格式：tongban-archive 第 4 版" in readme
    assert "不在审计事件中" in readme and "metadata/application.json" in readme and "黄灯阈值" in readme
    assert "时限的天数记入其起算的 ClocksStarted 事件" in readme and "两个声明的时限互换无法发现" in readme


EDITS = [  # (what QA-style edit of case.json, the change, what is reported, expected, got)
    ("legal budget", lambda c: legal(c)["budget"].update(amount=60),
     "clocks.legal.clock.budget（时限）与第 4 个事件（ClocksStarted）不符", "20 个工作日", "60 个工作日"),
    ("committed budget the event does not record", lambda c: committed(c)["budget"].update(amount=60),
     "clocks.committed.clock.budget（时限）不是所锁定的流程图或事项目录声明的时限", "20 个工作日、10 个工作日",
     "60 个工作日"),
    ("T0 back-dated", lambda c: legal(c).update(t0="2026-11-02"),
     "clocks.legal.clock.t0（起算日）与第 4 个事件（ClocksStarted）不符", "2026-11-23", "2026-11-02"),
    ("a fake extension", lambda c: committed(c)["extensions"].append(dict(legal(c)["extensions"][0])),
     "clocks.committed.clock.extensions（延长）的个数与审计事件不符", "0 个", "1 个"),
    ("extension days", lambda c: legal(c)["extensions"][0].update(days=10),
     "clocks.legal.clock.extensions[0].days 与第 11 个事件（DeadlineExtended）不符", "5", "10"),
    ("a running segment made a pause", lambda c: legal(c)["segments"][2].update(
        kind="paused", reason_kind="correction", reason="补正"),
     "clocks.legal.clock.segments[2].kind 与第 10 个事件（ClockResumed）不符", "running", "paused"),
    ("a running segment made a pause, badly", lambda c: legal(c)["segments"][2].update(kind="paused"),
     "clocks.legal.clock 不是有效的计时记录", None, None),
    ("a pause's reason", lambda c: committed(c)["segments"][1].update(reason="申请人自愿"),
     "clocks.committed.clock.segments[1].reason 与第 9 个事件（ClockPaused）不符", "补正营业执照", "申请人自愿"),
    ("a pause shortened", lambda c: legal(c)["segments"][1].update(end="2026-11-23T09:09:30+08:00"),
     "clocks.legal.clock.segments[1].end 与第 10 个事件（ClockResumed）不符", "2026-11-23T09:10:00+08:00",
     "2026-11-23T09:09:30+08:00"),
    ("who resumed", lambda c: legal(c)["segments"][2].update(actor="admin"),
     "clocks.legal.clock.segments[2].actor 与第 10 个事件（ClockResumed）不符", "window_yz", "admin"),
    ("closing time", lambda c: legal(c).update(closed_at="2026-12-23T09:13:00+08:00"),
     "clocks.legal.clock.closed_at（结束时间）与第 13 个事件（CaseCompleted）不符", "2026-11-23T09:13:00+08:00",
     "2026-12-23T09:13:00+08:00"),
    ("a clock removed", lambda c: c["clocks"].pop("committed"),
     "clocks 缺少 committed（第 7 个事件（ClocksStarted）起算了该时限）", "1 个计时时段", "（无）"),
    ("no clocks at all", lambda c: c.update(clocks=None), "clocks 应为对象", "对象", "（无）"),
    ("a second period invented", lambda c: c["clocks"]["legal"].update(periods=[legal(c)]),
     "clocks.legal 的计时时段数与审计事件不符", "1 个", "2 个"),
    ("started_by", lambda c: c.update(started_by="admin"),
     "started_by（启动人）与 CaseStarted 事件的操作人不符", "window_yz", "admin"),
    ("stage", lambda c: c.update(stage="审查"), "stage（办件阶段）应为空", "（无）", "审查"),
    ("a field added", lambda c: c.update(note="已核实"), "有办件记录之外的字段 note", None, None),
    ("a field removed", lambda c: c.pop("started_by"), "缺少字段 started_by", None, None),
]


@pytest.mark.parametrize("name,change,message,expected,got", EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_of_the_case_record_with_a_matching_manifest_is_named_field_by_field(tmp_path, name, change, message,
                                                                                     expected, got):
    result = check(tmp_path, edited(build_clocked(), change))
    assert not result.ok and result.problem.entry == CASE, result.problem
    assert message in result.problem.message, result.problem
    assert (result.problem.expected, result.problem.got, result.problem.code) == (expected, got, CASE_MISMATCH)


def test_a_status_edited_in_the_case_record_and_the_manifest_is_named_against_case_completed(tmp_path):
    result = check(tmp_path, edited(build(), lambda c: c.update(status="running"), manifest=True))
    assert (result.problem.entry, result.problem.expected, result.problem.got) == (CASE, "completed", "running")
    assert "CaseCompleted" in result.problem.message


def test_the_light_thresholds_are_not_tied_to_the_chain_as_the_readme_says(tmp_path):
    assert check(tmp_path, edited(build_clocked(), lambda c: c["clocks"]["legal"].update(yellow_days=3))).ok


@pytest.mark.parametrize("path", [p for p in OLD_PACKAGES if "clocked" in p.name or "parallel" in p.name],
                         ids=lambda p: p.name)
def test_an_old_package_s_case_record_is_checked_as_strictly(tmp_path, path):
    for change, message in ((lambda c: legal(c)["budget"].update(amount=60), "clocks.legal.clock.budget"),
                            (lambda c: c.update(started_by="admin"), "started_by"),
                            (lambda c: c.update(stage="审查"), "stage")):
        result = check(tmp_path, edited(path.read_bytes(), change))
        assert message in result.problem.message and result.problem.code == CASE_MISMATCH, result.problem


def test_a_report_never_shows_a_python_none(tmp_path):
    files = entries(build())
    manifest = json.loads(files["manifest.json"])
    del manifest["format_version"]
    result = check(tmp_path, rezip(build(), change={"manifest.json": json.dumps(manifest).encode()}))
    assert (result.problem.message, result.problem.expected, result.problem.got) == ("不支持的格式版本", "1、2、3、4", "（无）")
    assert Fail("x", "缺少", "1", None).problem.describe() == "x：缺少（应为 1，实际为 （无））"
    assert "None" not in result.problem.describe()


def periods_case(*, between: bool):
    """A per-stage 法定 clock (tb:clock stopsAt): two periods, each started at a 受理 with no budget on its event;
    ``between``: the case ends after the second period stopped (its record is then the entry's ``clock``)."""
    from engine.archive_format import EventFacts
    from engine.legal_clock import Budget, Clock
    from tests.unit.archive_fixture import T0, chained

    specs = [("CaseStarted", {}, {}),
             ("ClocksStarted", {"element_id": "s1_accept"}, {"clocks": {"legal": {"kind": "legal", "t0": "2026-11-23"}}}),
             ("ClocksStopped", {"element_id": "s1_conclude"}, {"clocks": {"legal": {"t0": "2026-11-23", "period": 1}}}),
             ("ClockPaused", {}, {"clocks": ["legal"], "reason_kind": "correction", "reason": "补正"}),  # a notice
             ("ClocksStarted", {"element_id": "s2_accept"}, {"clocks": {"legal": {"kind": "legal", "t0": "2026-11-23"}}})]
    specs += [("ClocksStopped", {"element_id": "s2_conclude"}, {"clocks": {"legal": {"t0": "2026-11-23", "period": 2}}})
              ] if between else []
    specs += [("CaseCompleted", {}, {})]
    events = chained(specs)
    facts = EventFacts(events[0].case_no)
    for event in events:
        facts.add(event)
    first = Clock.start("legal", Budget(45), T0.date(), events[1].occurred_at, "window_yz").close(events[2].occurred_at)
    second = Clock.start("legal", Budget(45), T0.date(), events[4].occurred_at, "window_yz")
    second = second.close(events[5].occurred_at)
    return facts, {"legal": {"yellow_days": 1, "yellow_ratio": 0.2, "clock": second.to_dict(),
                             "periods": [first.to_dict()]}}


@pytest.mark.parametrize("between", [False, True])
def test_each_period_of_a_per_stage_clock_is_tied_to_its_events(between):
    from engine.archive_clocks import check_clocks

    facts, clocks = periods_case(between=between)
    declared = [{"amount": 45, "unit": "workday"}]
    check_clocks(clocks, facts, declared)
    later = json.loads(json.dumps(clocks))
    later["legal"]["clock"]["budget"]["amount"] = 50
    with pytest.raises(Fail, match=r"clocks\.legal\.clock\.budget（时限）与上一计时时段不符"):
        check_clocks(later, facts, declared)
    with pytest.raises(Fail, match=r"clocks\.legal\.periods\[0\]\.budget（时限）不是所锁定的流程图或事项目录声明的时限"):
        check_clocks(clocks, facts, [{"amount": 20, "unit": "workday"}])
    facts.migrated = True       # the earlier diagram is not in the package: the first budget is not checked
    check_clocks(clocks, facts, [{"amount": 20, "unit": "workday"}])


def test_a_clock_counted_from_the_receiving_district_s_acceptance_starts_on_t0_before_its_event():
    from datetime import timedelta

    from engine.archive_clocks import check_clocks
    from engine.archive_format import EventFacts
    from engine.legal_clock import Budget, Clock
    from tests.unit.archive_fixture import T0, chained

    events = chained([("CaseStarted", {}, {}), ("MessageReceived", {}, {"payload_sha256": "0" * 64}),
                      ("ClocksStarted", {}, {"clocks": {"legal": {"budget": {"amount": 20, "unit": "workday"},
                                                                  "t0": "2026-11-23"}}}),
                      ("CaseCompleted", {}, {})])
    facts = EventFacts(events[0].case_no)
    for event in events:
        facts.add(event)

    def doc(start):
        clock = Clock.start("legal", Budget(20), T0.date(), start, "window_yz").close(events[3].occurred_at)
        return {"legal": {"yellow_days": 1, "yellow_ratio": 0.2, "clock": clock.to_dict()}}
    check_clocks(doc(T0 - timedelta(hours=8)), facts, [])             # 收件地受理 that morning
    with pytest.raises(Fail, match=r"segments\[0\]\.start 应在起算日 2026-11-23 且不晚于第 3 个事件"):
        check_clocks(doc(events[3].occurred_at - timedelta(seconds=30)), facts, [])
