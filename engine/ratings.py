"""好差评: an applicant rates a closed case once; a 差评 opens a 差评整改 case for the responsible department.

Levels are the GB/T 39046 A.8 codes, 1 非常满意 … 5 非常不满意 (1 is the best, the reverse of most
commercial scales); 4 and 5 are 差评. Channels are the 表9 评价渠道 in the order national 好差评 interfaces
number them (1 PC端 … 7 短信).

A 差评 starts the shipped ``chaping_zhenggai`` process in the rating's transaction: its 差评整改 task goes to
the responsible department's inbox with a committed clock of ``rectification_workdays`` working days, then a
回访 task; the department may instead appeal (申诉), which a supervisor decides (申诉复核). When that case
ends, :func:`close_rectification` marks the rating ``rectified`` or, for an upheld appeal, ``removed`` (kept,
with who removed it and why) and records it on the rated case's hash chain.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from . import events as ev
from .applicant_accounts import is_applicant
from .commands import Actor, RateCase, StartCase
from .errors import Conflict, InvalidInput, NotFound, WorkflowFailed
from .case_start import open_case
from .handlers import Services, _record
from .persistence.case_records import CaseRecord
from .persistence.models import Application, Case, CaseEvent, Rating, TaskItem
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .spiff.steps import StepResult
from .text_input import require_written, written
from .variables import check_variables

LEVELS = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
"""GB/T 39046 附录 A.8 满意度代码."""
BAD_SCORES = frozenset({4, 5})
CHANNELS = {"1": "PC端", "2": "移动服务端", "3": "二维码", "4": "政务大厅平板电脑", "5": "政务大厅其他终端",
            "6": "电话", "7": "短信"}
"""GB/T 39046 表9 评价渠道, numbered as national 好差评 interfaces do."""
STATUSES = {"recorded": "已评价", "rectifying": "差评整改中", "rectified": "已整改并回访",
            "removed": "申诉成立，已撤销"}
RECTIFICATION_PROCESS = "chaping_zhenggai"
APPLICANT = Actor("applicant:query", ("applicant",))
"""The actor of a rating the applicant made after proving the query code (no user account)."""
CLERK_ROLES = ("window_clerk",)
MAX_COMMENT = 500
MAX_APPEAL_TEXT = 2000
"""The longest appeal reason (申诉理由) or review opinion (复核意见), in characters."""
FALLBACK_DEPARTMENT = "zwzx"
"""The 政务服务中心: responsible when no task of the case named a department of the owning district."""
_ratings = Rating.__table__
_tasks = TaskItem.__table__
_cases = Case.__table__
_events = CaseEvent.__table__
_applications = Application.__table__


def check_rating(score: Any, channel: Any, comment: Any) -> str:
    """Return the trimmed comment, or raise ``RATING_INVALID`` naming every bad field.

    A 差评 needs a comment saying what went wrong, so the department knows what to rectify; a comment of
    blanks or invisible format characters only counts as none (:func:`engine.text_input.written`).
    """
    problems: dict[str, list[str]] = {}
    if isinstance(score, bool) or not isinstance(score, int) or score not in LEVELS:
        problems["score"] = ["满意度应为 1 到 5 的整数（1 非常满意、2 满意、3 基本满意、4 不满意、5 非常不满意）"]
    if not isinstance(channel, str) or channel not in CHANNELS:
        problems["channel"] = ["评价渠道应为 " + "、".join(f"{k} {v}" for k, v in CHANNELS.items()) + " 之一"]
    text = written(comment)   # spaces or invisible characters alone (U+200B, U+FEFF …) say nothing
    if comment is not None and not isinstance(comment, str):
        problems["comment"] = ["文字评价应为文本"]
    elif len(text) > MAX_COMMENT:
        problems["comment"] = [f"文字评价不能超过 {MAX_COMMENT} 字"]
    elif "score" not in problems and score in BAD_SCORES and not text:
        problems["comment"] = ["差评请写明不满意的原因，便于责任部门整改"]
    if problems:
        raise InvalidInput("评价内容有误", code="RATING_INVALID", details={"fields": problems})
    return text


def appeal_data(reason: Any) -> dict[str, Any]:
    """Return the 差评整改 task data that appeals the rating (申诉), with the reason trimmed.

    Raises:
        InvalidInput: the reason is blank or invisible (``details.fields.reason``) or too long.
    """
    return {"action": "appeal",
            "appeal_reason": require_written(reason, "reason", "请写明申诉理由", limit=MAX_APPEAL_TEXT)}


def appeal_decision_data(decision: str, opinion: Any) -> dict[str, Any]:
    """Return the 申诉复核 task data: ``upheld`` or ``rejected`` and the opinion trimmed.

    Raises:
        InvalidInput: the opinion is blank or invisible (``details.fields.opinion``) or too long.
    """
    return {"appeal_decision": decision,
            "appeal_opinion": require_written(opinion, "opinion", "请写明复核意见", limit=MAX_APPEAL_TEXT)}


def may_enter_for(uow: SqlAlchemyUnitOfWork, actor: Actor, case: CaseRecord) -> bool:
    """Whether ``actor`` may record a rating of ``case``.

    The applicant who proved the query code; the applicant account that applied for it online (我的办件);
    or a window of its receiving or owning district entering the applicant's rating.
    """
    if _by_query_code(actor):
        return True
    if is_applicant(actor):
        return _applied_by(uow, actor, case.id)
    return bool(set(CLERK_ROLES) & set(actor.roles)) and actor.district in (
        case.receiving_district, case.owning_district)


def _by_query_code(actor: Actor) -> bool:
    return actor.username == APPLICANT.username and actor.roles == APPLICANT.roles


def _not_found(actor: Actor, case_id: int, case_no: str) -> NotFound:
    """The refusal of a case ``actor`` may not rate: word for word what a case that does not exist gets.

    An applicant account names its case by id (``POST /api/v1/my/cases/<id>/rating``), and an id that does
    not exist is refused by ``uow.cases.lock``: ``{"case_id": id}``, never the case's 办件编号. A window names
    it by 办件编号 (``POST /api/v1/ratings``), and a number that does not exist is refused by
    ``RatingReads.case_id_for``: ``{"case_no": number}``, never the case's id.
    """
    details: dict[str, Any] = {"case_id": case_id} if _account(actor) else {"case_no": case_no}
    return NotFound("办件不存在或无权访问", details=details)


def _account(actor: Actor) -> bool:
    """Whether ``actor`` is an applicant account (我的办件), not the holder of a query code."""
    return is_applicant(actor) and not _by_query_code(actor)


def _applied_by(uow: SqlAlchemyUnitOfWork, actor: Actor, case_id: int) -> bool:
    """Whether the account ``actor`` applied online for case ``case_id`` (False for a case that does not exist)."""
    account = uow.connection.execute(
        select(_applications.c.account).where(_applications.c.case_id == case_id)).scalar()
    return account is not None and account == actor.username


def rate_case(cmd: RateCase, svc: Services) -> dict[str, Any]:
    """Record the rating of a closed case and, for a 差评, start its 差评整改 case; one transaction.

    An applicant account's ownership is checked first, before the case row is locked or anything about the
    case is read: another account's case and a case that does not exist get the same answer
    (:func:`_not_found`).
    """
    now = svc.clock.now()
    workflow = None
    with svc.uow() as uow:
        if _account(cmd.actor) and not _applied_by(uow, cmd.actor, cmd.case_id):
            raise _not_found(cmd.actor, cmd.case_id, "")
        comment = check_rating(cmd.score, cmd.channel, cmd.comment)
        case = uow.cases.lock(cmd.case_id)
        if not may_enter_for(uow, cmd.actor, case):
            raise _not_found(cmd.actor, case.id, case.case_no)
        if case.process_key == RECTIFICATION_PROCESS:
            raise InvalidInput("差评整改办件不接受评价", code="CASE_NOT_RATEABLE")
        if case.status != "completed":
            raise Conflict("办件尚未办结，办结后才能评价", code="CASE_NOT_CLOSED",
                           details={"case_no": case.case_no, "status": case.status})
        application = application_cases(uow, case.id)
        rated = uow.connection.execute(select(_ratings.c.case_no).where(_ratings.c.case_id.in_(application))
                                       .limit(1)).scalar()
        if rated == case.case_no:
            raise Conflict("该办件已评价，每件办件只能评价一次", code="ALREADY_RATED",
                           details={"case_no": case.case_no})
        if rated is not None:
            # 异地代收代办: the receiving and the owning case are one application, rated once.
            raise Conflict(f"该申请已在关联办件 {rated} 评价，每件申请只能评价一次", code="ALREADY_RATED",
                           details={"case_no": case.case_no, "rated_case_no": rated})
        department = responsible_department(uow, case, application)
        matter_code = uow.connection.execute(select(_cases.c.matter_code).where(_cases.c.id == case.id)).scalar()
        source = "applicant" if _by_query_code(cmd.actor) or is_applicant(cmd.actor) else "window"
        values = {"case_id": case.id, "case_no": case.case_no, "matter_code": matter_code,
                  "district": case.owning_district, "department": department, "score": cmd.score,
                  "channel": cmd.channel, "comment": comment or None, "source": source,
                  "rated_by": cmd.actor.username, "rated_at": now, "status": "recorded"}
        rating_id = int(uow.connection.execute(insert(_ratings).returning(_ratings.c.id), [values]).scalar_one())
        events: list[ev.Event] = [ev.CaseRated(rating_id=rating_id, score=cmd.score, level=LEVELS[cmd.score],
                                               channel=cmd.channel, comment=comment, source=source)]
        if cmd.score in BAD_SCORES:
            rectification, workflow = _open_rectification(uow, svc, case, rating_id, cmd, comment, department, now)
            uow.connection.execute(update(_ratings).where(_ratings.c.id == rating_id).values(
                status="rectifying", rectification_case_id=rectification.id))
            due = rectification.committed_due_at
            events.append(ev.RectificationOpened(rating_id=rating_id, rectification_case_no=rectification.case_no,
                                                 district=case.owning_district or "", department=department,
                                                 due_at=due.isoformat() if due else None))
        uow.cases.save(case, events=_record(case, events, cmd.actor, now))
        uow.commit()
    if workflow is not None:
        svc.runner.checkin(rectification.id, rectification.version, rectification.definition_id, workflow)
    return {"rating_id": rating_id, "case_id": case.id, "case_no": case.case_no}


def _open_rectification(uow: SqlAlchemyUnitOfWork, svc: Services, case: CaseRecord, rating_id: int,
                        cmd: RateCase, comment: str, department: str, now: datetime) -> tuple[CaseRecord, Any]:
    data = check_variables({
        "rated_case_no": case.case_no, "rating_id": rating_id, "score": cmd.score, "level": LEVELS[cmd.score],
        "channel": CHANNELS[cmd.channel], "comment": comment, "department": department,
        "rectify_workdays": svc.rectification_workdays}, what="差评整改启动数据")
    title = f"差评整改：{case.case_no}（{LEVELS[cmd.score]}）{comment}"[:256]
    start = StartCase(RECTIFICATION_PROCESS, cmd.actor, data, business_key=f"rating:{rating_id}", title=title,
                      owning_district=case.owning_district, receiving_district=case.receiving_district)
    if not uow.definitions.process_exists(RECTIFICATION_PROCESS):
        raise WorkflowFailed("差评整改流程（chaping_zhenggai）尚未部署，暂不能受理差评，"
                             "请联系管理员执行 tongban deploy", code="RECTIFICATION_NOT_DEPLOYED")
    rectification, _created, workflow = open_case(uow, svc, start, data, now)
    return rectification, workflow


def application_cases(uow: SqlAlchemyUnitOfWork, case_id: int) -> list[int]:
    """The case and the cases linked with it: one application (异地代收代办's receiving and owning case)."""
    return sorted({case_id, *(partner["partner_case_id"] for partner in uow.messages.partners(case_id))})


def responsible_department(uow: SqlAlchemyUnitOfWork, case: CaseRecord, cases: list[int] | None = None) -> str:
    """Return the department of the owning district that last completed a task of the application (谁办理、谁负责).

    Candidate groups name departments as ``role@district/department``; the task completed last whose group
    names a department of the owning district decides, across ``cases`` (the application's cases: a handoff's
    receiving case is worked by another district's window, its owning case by the deciding department).
    Cases worked only at the window fall back to the 政务服务中心 (``zwzx``).
    """
    prefix = f"@{case.owning_district}/"
    # Within a case the audit log orders completions strictly (several may share an instant); across the
    # linked cases the instants do.
    rows = uow.connection.execute(
        select(_tasks.c.candidate_groups).select_from(_events.join(_tasks, _tasks.c.id == _events.c.task_id))
        .where(_events.c.case_id.in_(cases or [case.id]), _events.c.event_type == "TaskCompleted")
        .order_by(_events.c.occurred_at.desc(), _events.c.case_id.desc(), _events.c.seq.desc()))
    for (groups,) in rows:
        for group in groups or ():
            if prefix in group:
                return str(group.split("/", 1)[1])
    return FALLBACK_DEPARTMENT


def close_rectification(uow: SqlAlchemyUnitOfWork, svc: Services, case: CaseRecord, workflow: Any,
                        step: StepResult, actor: Actor, now: datetime) -> None:
    """When a 差评整改 case ends, settle its rating and record the outcome on the rated case.

    Called by the engine in the transaction that ends any case; does nothing for other processes, nor for a
    rectification case whose rating is not in this database (a replay's scratch database).
    """
    if case.process_key != RECTIFICATION_PROCESS:
        return
    rating = uow.connection.execute(select(_ratings).where(_ratings.c.rectification_case_id == case.id)).first()
    if rating is None:
        return
    data = svc.runner.current_data(workflow)
    removed = "end_appeal_upheld" in step.advanced
    rated = uow.cases.lock(rating.case_id)
    events: list[ev.Event] = [ev.RectificationClosed(
        rating_id=rating.id, rectification_case_no=case.case_no, outcome="removed" if removed else "rectified",
        revisit_result=None if removed else data.get("revisit_result"))]
    if removed:
        reason = f"申诉理由：{data.get('appeal_reason') or '—'}；复核意见：{data.get('appeal_opinion') or '—'}"
        uow.connection.execute(update(_ratings).where(_ratings.c.id == rating.id).values(
            status="removed", removed_at=now, removed_by=actor.username, removed_reason=reason))
        events.append(ev.RatingRemoved(rating_id=rating.id, reason=reason, decided_by=actor.username))
    else:
        uow.connection.execute(update(_ratings).where(_ratings.c.id == rating.id).values(status="rectified"))
    uow.cases.save(rated, events=_record(rated, events, actor, now))
