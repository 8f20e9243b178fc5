"""Structural diff of two versions of a process, element by id (no database)."""
from __future__ import annotations

from engine.lint_diff import diff_diagrams
from tests.bpmn_factory import diagram
from tests.versioning import parallel_v1, renamed, with_review


def diff(old: bytes, new: bytes, process: str = "parallel_approval"):
    return diff_diagrams(old.decode(), new.decode(), process, max_bytes=10**7)


def test_identical_versions_and_layout_moves_have_no_differences():
    moved = parallel_v1().replace(b'<dc:Bounds x="240" y="200"', b'<dc:Bounds x="260" y="210"')
    result = diff(parallel_v1(), moved)
    assert (result.added, result.removed, result.changed) == ([], [], [])
    assert result.unchanged == 32            # the process, 15 flow nodes and 16 sequence flows


def test_a_new_parallel_review_is_added_and_rewires_split_and_join():
    result = diff(parallel_v1(), with_review(parallel_v1()))
    assert result.added == ["f_review_shengtai_join", "f_split_review_shengtai", "review_shengtai"]
    assert result.removed == [] and result.changed == ["join", "split"]
    join = result.details["join"]["changes"]
    assert [c["aspect"] for c in join] == ["incoming"]
    assert set(join[0]["to"]) - set(join[0]["from"]) == {"f_review_shengtai_join"}
    assert result.details["review_shengtai"] == {"type": "userTask", "name": "生态环境审查"}


def test_a_renamed_id_is_a_removal_plus_an_addition_and_its_neighbours_change():
    result = diff(parallel_v1(), renamed(parallel_v1(), "accept", "accept_window"))
    assert result.removed == ["accept"] and result.added == ["accept_window"]
    assert result.changed == ["f_accept_gw", "f_start_accept"]
    assert {c["aspect"] for c in result.details["f_accept_gw"]["changes"]} == {"incoming"}


def test_each_aspect_of_a_changed_element_is_named_with_before_and_after():
    new = (parallel_v1().replace('id="accept" name="受理"'.encode(), 'id="accept" name="窗口受理"'.encode())
           .replace(b'workdays="5" clock="task"', b'workdays="3" clock="task"')
           .replace(b'decision == "accept"', b'decision == "accept" and materials_complete'))
    result = diff(parallel_v1(), new)
    changes = {e: {c["aspect"]: (c["from"], c["to"]) for c in d["changes"]} for e, d in result.details.items()
               if e in result.changed}
    assert changes["accept"]["name"] == ("受理", "窗口受理")
    assert changes["accept"]["extensions"][1][2] == "deadline(clock=task workdays=3)"
    assert changes["f_gw_split"]["expressions"] == (['conditionExpression: decision == "accept"'],
                                                   ['conditionExpression: decision == "accept" and materials_complete'])


def test_a_type_change_and_a_timer_change_are_told_apart():
    with_timer = diagram(timer='"PT2H"')
    longer = diagram(timer='"PT4H"')
    manual = diagram(task_extensions="").replace(b"<bpmn:userTask", b"<bpmn:manualTask").replace(
        b"</bpmn:userTask>", b"</bpmn:manualTask>")
    timer = diff(with_timer, longer, "probe")
    assert timer.changed == ["timer"]
    assert [c["aspect"] for c in timer.details["timer"]["changes"]] == ["expressions"]
    typed = diff(diagram(), manual, "probe")
    assert {c["aspect"] for c in typed.details["task"]["changes"]} == {"type", "extensions"}
    assert diff(diagram(), with_timer, "probe").added == ["ft", "timer"]


def test_a_process_missing_from_a_version_shows_every_element_as_added():
    result = diff(diagram(process_id="other"), diagram(), "probe")
    assert "probe" in result.added and "task" in result.added and result.removed == []
