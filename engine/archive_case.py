"""``metadata/case.json`` against the event chain: every field the events determine (offline archive check).

The manifest's case facts are recomputed from the events by :func:`engine.archive_contents.check_contents`,
and ``case.json`` must repeat them. Its other fields are checked here: the status (``CaseCompleted``), who
started the case (the actor of ``CaseStarted``), the stage (the engine records none, so it is empty) and the
clocks (:mod:`engine.archive_clocks`). A field that is neither, or one missing, is a problem too, so nothing
can be slipped into the record. Only the title is not tied to the events (README lists it).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from . import archive_format as fmt
from .archive_clocks import check_clocks
from .archive_problems import CASE_MISMATCH, Fail
from .file_echo import clipped


def check_case_record(case: Mapping[str, Any], facts: fmt.EventFacts,
                      declared: Sequence[Mapping[str, Any]]) -> None:
    """Raise :class:`Fail` at the first field of ``case`` (``case.json``) that the events contradict.

    ``declared`` are the budgets the pinned diagram and catalog entry declare, for the clocks whose events do
    not record theirs (:func:`engine.archive_clocks.declared_budgets`).
    """
    for key in fmt.CASE_KEYS:
        if key not in case:
            raise Fail(fmt.CASE, f"缺少字段 {key}", code=CASE_MISMATCH)
    for key in sorted(set(case) - set(fmt.CASE_KEYS), key=str):
        raise Fail(fmt.CASE, f"有办件记录之外的字段 {clipped(key)}", code=CASE_MISMATCH)
    status = "completed" if facts.completed_at is not None else "running"
    if case["status"] != status:
        raise Fail(fmt.CASE, "status（办件状态）与审计事件不符（办结时记录 CaseCompleted 事件）", status,
                   case["status"], code=CASE_MISMATCH)
    starter = facts.started.actor if facts.started is not None else None
    if case["started_by"] != starter:
        raise Fail(fmt.CASE, "started_by（启动人）与 CaseStarted 事件的操作人不符", starter, case["started_by"],
                   code=CASE_MISMATCH)
    if case["stage"] is not None:
        raise Fail(fmt.CASE, "stage（办件阶段）应为空：引擎不记录办件阶段，审计事件中也没有", None, case["stage"],
                   code=CASE_MISMATCH)
    check_clocks(case["clocks"], facts, declared)
