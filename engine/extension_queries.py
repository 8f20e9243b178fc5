"""The read side of deadline extension requests (第四十二条): who lists which request, and who may decide it.

:class:`ExtensionReads` gives :class:`engine.queries.Queries` its ``extension_requests`` and
``count_extension_requests``. The scope rules live here with them: the approvers a request asks for
(:func:`_asked`, which :meth:`~engine.queries.Queries.sees_case` also lets read the case), the cases a person
may read as a condition paged in SQL (:func:`_readable_case`), and who lists every district
(:func:`_sees_every_district`). Rows leave through :func:`engine.masking.mask_for_roles`, as every case view does.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from .commands import Actor
from .extension_approval import DEPARTMENT_HEAD, GOVERNMENT_HEAD, decides_extension
from .masking import mask_for_roles
from .persistence.models import Case, CaseLink, ExtensionRequest, TaskCandidate, TaskItem, User


class ExtensionReads:
    """Extension request listings for one actor at a time, mixed into :class:`~engine.queries.Queries`."""

    sessions: sessionmaker[Session]

    def extension_requests(self, actor: Actor, *, state: str = "open", case_id: int | None = None,
                           limit: int = 100, offset: int = 0, deciding: bool = False) -> list[dict[str, Any]]:
        """Return the deadline extension requests of ``actor``'s district (admins, auditors, city supervisors: all).

        The approvers a request asks for list it (:func:`_asked`: the heads of the case's 承办部门, or the
        government head for a 45-day joint procedure); other staff only those of cases they may read, and their
        own (:func:`_extension_scope`). ``deciding`` lists only the requests ``actor`` is asked to decide (the
        heads' queue on the inbox page). Each row says whether ``actor`` may decide it (``may_decide``).

        ``open`` lists what waits for a head, oldest first (a queue); ``lapsed`` the open ones whose case ended
        undecided; the decided states and ``all`` list newest first.
        """
        from .extension_handlers import request_view
        everywhere = _sees_every_district(actor) and not deciding
        if not everywhere and not actor.district:
            return []
        requester, decider = aliased(User), aliased(User)
        stmt = (select(ExtensionRequest, Case.case_no, Case.title, Case.process_key, Case.status, Case.department,
                       requester.display_name, decider.display_name)
                .join(Case, Case.id == ExtensionRequest.case_id)
                .outerjoin(requester, requester.username == ExtensionRequest.requested_by)
                .outerjoin(decider, decider.username == ExtensionRequest.decided_by).limit(limit).offset(offset))
        stmt = stmt.where(*_extension_filters(actor, everywhere, state, case_id, deciding))
        newest = (ExtensionRequest.requested_at.desc(), ExtensionRequest.id.desc())
        stmt = stmt.order_by(*((ExtensionRequest.requested_at, ExtensionRequest.id) if state == "open" else newest))
        with self.sessions() as session:
            rows = [({**request_view(request, case_no, status), "title": title, "process_key": process_key,
                      "requested_by_name": asked or request.requested_by,
                      "decided_by_name": (decided or request.decided_by) if request.decided_by else None}, department)
                    for request, case_no, title, process_key, status, department, asked, decided
                    in session.execute(stmt)]
        return [mask_for_roles(actor.roles, {**view, "may_decide": view["state"] == "open" and decides_extension(
            actor.roles, actor.district, actor.department, approver_role=view["approver_role"],
            request_district=view["district"], case_department=department)}) for view, department in rows]

    def count_extension_requests(self, actor: Actor, *, state: str = "open", case_id: int | None = None,
                                 deciding: bool = False) -> int:
        """How many requests :meth:`extension_requests` would list in all (the heads' queue: ``open``, ``deciding``)."""
        everywhere = _sees_every_district(actor) and not deciding
        if not everywhere and not actor.district:
            return 0
        stmt = (select(func.count()).select_from(ExtensionRequest).join(Case, Case.id == ExtensionRequest.case_id)
                .where(*_extension_filters(actor, everywhere, state, case_id, deciding)))
        with self.sessions() as session:
            return int(session.scalar(stmt) or 0)


def _sees_every_district(actor: Actor) -> bool:
    """Admins, auditors and city-level supervisors read every district's extension requests."""
    from .supervision import CITY
    return bool({"admin", "auditor"} & set(actor.roles)) or ("supervisor" in actor.roles and actor.district == CITY)


def _extension_filters(actor: Actor, everywhere: bool, state: str, case_id: int | None,
                       deciding: bool = False) -> list[Any]:
    """The conditions of an extension request listing: whose (:func:`_extension_scope`), the case, the state.

    ``deciding``: only the requests ``actor`` is asked to decide (:func:`_asked`), in their district.
    """
    asked = _asked(actor) if deciding else None
    if deciding:
        where: list[Any] = [ExtensionRequest.district == actor.district, asked if asked is not None else false()]
    else:
        where = [] if everywhere else [_extension_scope(actor)]
    if case_id is not None:
        where.append(ExtensionRequest.case_id == case_id)
    if state == "open":
        where += [ExtensionRequest.state == "open", Case.status == "running"]
    elif state == "lapsed":
        # Stored as lapsed when its clock period ended undecided; shown as lapsed when its case closed open.
        where.append(or_(ExtensionRequest.state == "lapsed",
                         and_(ExtensionRequest.state == "open", Case.status != "running")))
    elif state != "all":
        where.append(ExtensionRequest.state == state)
    return where


def _extension_scope(actor: Actor) -> Any:
    """Which requests someone who does not see every district lists: a condition on the request and its case.

    The approvers a request asks for in the district (:func:`_asked`) are the ones asked to decide it (and read
    the case through it, see :meth:`Queries._sees_case`): they list those, besides the requests of the cases
    they may read and their own. Anyone else lists the district's requests of the cases they may read
    (:func:`_readable_case`) and their own: a request says which case it is about, its title and the reason, so
    it is as private as the case (404 for a case one may not read).
    """
    of_district = ExtensionRequest.district == actor.district
    mine = [ExtensionRequest.requested_by == actor.username, _readable_case(actor)]
    asked = _asked(actor)
    if asked is not None:
        mine.append(asked)
    return and_(of_district, or_(*mine))


def _asked(actor: Actor) -> Any:
    """The requests (joined with their case) whose approver ``actor`` is, the district aside; None for no head.

    A request asks for the ``approver_role`` it recorded when it was made (:mod:`engine.extension_approval`): a
    department head of the case's 承办部门 (any, for a case with no department), or for a 45-day joint procedure
    the government head, never a department's head.
    """
    asked = []
    if DEPARTMENT_HEAD in actor.roles:
        department = (Case.department.is_(None) if actor.department is None
                      else or_(Case.department.is_(None), Case.department == actor.department))
        asked.append(and_(ExtensionRequest.approver_role == DEPARTMENT_HEAD, department))
    if GOVERNMENT_HEAD in actor.roles:
        asked.append(ExtensionRequest.approver_role == GOVERNMENT_HEAD)
    return or_(*asked) if asked else None


def _readable_case(actor: Actor) -> Any:
    """The rule of :meth:`Queries._sees_case` as a condition on :class:`Case`, for listings paged in SQL.

    The case's starter, a supervisor of one of its districts, and whoever is or was on one of its tasks or its
    linked case's tasks (assignee, completer, candidate group), or started the linked case. Overseers (who read
    every case) and the approvers asked to decide a request (:func:`_asked`) are the callers' to let through.
    """
    linked = select(CaseLink.partner_case_id).where(CaseLink.case_id == Case.id).correlate(Case)
    involved = (select(TaskItem.id)
                .where(or_(TaskItem.case_id == Case.id, TaskItem.case_id.in_(linked)))
                .where(or_(TaskItem.assignee == actor.username, TaskItem.completed_by == actor.username,
                           select(TaskCandidate.task_id)
                           .where(TaskCandidate.task_id == TaskItem.id,
                                  TaskCandidate.group_key.in_(sorted(actor.groups)))
                           .correlate(TaskItem).exists()))
                .correlate(Case).exists())
    partner = aliased(Case)
    started_linked = (select(CaseLink.id)
                      .join(partner, partner.id == CaseLink.partner_case_id)
                      .where(CaseLink.case_id == Case.id, partner.started_by == actor.username)
                      .correlate(Case).exists())
    readable = [Case.started_by == actor.username, involved, started_linked]
    if "supervisor" in actor.roles and actor.district:
        readable.append(or_(Case.owning_district == actor.district, Case.receiving_district == actor.district,
                            Case.deciding_district == actor.district))
    return or_(*readable)
