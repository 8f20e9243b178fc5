"""The inbox query: filters, sorts and keyset cursors over the ``tasks`` table alone.

Every filter and every sort key is a column of ``tasks`` (DESIGN §6: the inbox is a table). A task's light
is a comparison of its stored ``inbox_due_at``/``inbox_yellow_at`` with now; no deadline is computed per
row. Cursors carry the sort, the direction and the sort key of the last row, so a cursor handed to another
sort is refused instead of silently skipping or repeating rows. A light sort's cursor also carries the instant
its first page ranked the lights at, and every later page ranks with it: a light that turns between two pages
would otherwise move its task across the cursor, to be listed twice or never (the light shown stays current).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case as sql_case, exists, func, literal, or_, select, tuple_, union_all
from sqlalchemy.sql import ColumnElement, Select

from . import cursors
from .commands import Actor
from .errors import BadRequest, InvalidInput
from .persistence.models import NO_DEADLINE, Case, TaskCandidate, TaskItem

SCOPES = ("all", "mine", "available", "completed")
LIGHTS = ("green", "yellow", "red")
SORTS = ("created", "due", "light")
ORDERS = ("asc", "desc")
MAX_LIMIT = 200


@dataclass(frozen=True)
class InboxQuery:
    """What the caller asked the inbox for; every field but ``cursor`` also applies to the counts.

    Attributes:
        scope: ``all`` (mine and my groups' unclaimed), ``mine``, ``available`` or ``completed`` (by me).
        matter: process key (事项) of the case.
        district: the case's owning district (业务属地).
        stage: the stage the task belongs to.
        light: ``green``, ``yellow`` or ``red`` at the engine clock's now.
        due_before: only tasks due strictly before this instant.
        q: text contained in the case number or the applicant's name (LIKE with wildcards escaped).
        sort: ``created``, ``due`` (undated last) or ``light`` (red, yellow, green, none; then due).
        order: ``asc`` or ``desc``.
    """

    scope: str = "all"
    matter: str | None = None
    district: str | None = None
    stage: str | None = None
    light: str | None = None
    due_before: datetime | None = None
    q: str | None = None
    sort: str = "created"
    order: str = "asc"
    limit: int = 50
    cursor: str | None = None

    def check(self) -> None:
        """Refuse values outside the allowed sets (the API validates too; the engine does not rely on it)."""
        for name, value, allowed in (("scope", self.scope, SCOPES), ("sort", self.sort, SORTS),
                                     ("order", self.order, ORDERS), ("light", self.light, LIGHTS)):
            if value not in allowed and not (name == "light" and value is None):
                message = f"{_WORDS[name]}（{name}）应为 {'、'.join(allowed)} 之一"
                raise InvalidInput(message, details={"fields": {name: [message]}})
        if not 1 <= self.limit <= MAX_LIMIT:
            message = f"每页条数（limit）应在 1 到 {MAX_LIMIT} 之间"
            raise InvalidInput(message, details={"fields": {"limit": [message]}})
        if self.due_before is not None and self.due_before.tzinfo is None:
            raise InvalidInput("due_before 须带时区，例如 2026-12-01T00:00:00+08:00")


def light_expression(now: datetime) -> ColumnElement[Any]:
    """SQL for the light of an open task at ``now``: null when closed or undated."""
    return sql_case((TaskItem.state != "open", None), (TaskItem.inbox_due_at >= NO_DEADLINE, None),
                    (TaskItem.inbox_due_at <= now, "red"), (TaskItem.inbox_yellow_at <= now, "yellow"),
                    else_="green")


def _light_rank(now: datetime) -> ColumnElement[Any]:
    return sql_case((TaskItem.inbox_due_at >= NO_DEADLINE, 3), (TaskItem.inbox_due_at <= now, 0),
                    (TaskItem.inbox_yellow_at <= now, 1), else_=2)


def _light_condition(light: str, now: datetime) -> ColumnElement[bool]:
    due, yellow = TaskItem.inbox_due_at, TaskItem.inbox_yellow_at
    if light == "red":
        return due <= now
    if light == "yellow":
        return and_(due > now, yellow <= now)
    return and_(due > now, due < NO_DEADLINE, or_(yellow.is_(None), yellow > now))


def scope_condition(actor: Actor, scope: str) -> ColumnElement[bool]:
    """Which rows ``actor`` sees in ``scope``; the group test is a semi-join on ``task_candidates``."""
    if scope == "completed":
        return and_(TaskItem.state == "completed", TaskItem.completed_by == actor.username)
    mine = TaskItem.assignee == actor.username
    available = and_(TaskItem.assignee.is_(None), exists().where(
        TaskCandidate.task_id == TaskItem.id, TaskCandidate.group_key.in_(sorted(actor.groups))))
    return and_(TaskItem.state == "open", {"mine": mine, "available": available, "all": or_(mine, available)}[scope])


_WORDS = {"scope": "范围", "sort": "排序", "order": "顺序", "light": "灯色"}
"""What the inbox's query parameters are called on the page."""


def filter_conditions(query: InboxQuery, now: datetime) -> list[ColumnElement[bool]]:
    """The optional filters of ``query`` as SQL conditions, all bound parameters."""
    where: list[ColumnElement[bool]] = []
    if query.matter:
        where.append(TaskItem.process_key == query.matter)
    if query.district:
        where.append(TaskItem.district == query.district)
    if query.stage:
        where.append(TaskItem.stage == query.stage)
    if query.light:
        where.append(_light_condition(query.light, now))
    if query.due_before is not None:
        where.append(TaskItem.inbox_due_at < query.due_before)
    if query.q:
        where.append(or_(TaskItem.case_no.icontains(query.q, autoescape=True),
                         TaskItem.applicant_name.icontains(query.q, autoescape=True)))
    return where


def _sort_keys(sort: str, now: datetime) -> list[ColumnElement[Any]]:
    if sort == "created":
        return [TaskItem.created_at]
    if sort == "due":
        return [TaskItem.inbox_due_at]
    return [_light_rank(now), TaskItem.inbox_due_at]


def statement(actor: Actor, query: InboxQuery, now: datetime) -> Select[Any]:
    """The SELECT the inbox runs for one page (``limit + 1`` rows, as flat columns).

    The page is chosen first and only its rows are joined to ``cases`` for the title and the case's due
    instants. Sorted by due or created time, "all" and "available" take my groups' unclaimed tasks from the
    candidates' per-group index and "mine" from the assignee index, each already in order, and merge the two
    short lists; sorted by light, or for "completed", the page is read from ``tasks`` directly.
    """
    query.check()
    keys = [*_sort_keys(query.sort, ranked_at(query, now)), TaskItem.id]
    if query.scope in ("all", "available") and query.sort in ("due", "created"):
        chosen = _merged_page(actor, query, now)
    else:
        page = select(TaskItem.id.label("page_id")).where(scope_condition(actor, query.scope),
                                                          *filter_conditions(query, now))
        chosen = _keyset(page, keys, query).limit(query.limit + 1).subquery("page")
    ordering = keys if query.order == "asc" else [k.desc() for k in keys]
    tasks, cases = TaskItem.__table__, Case.__table__
    return (select(*tasks.c, cases.c.title.label("case_title"),
                   cases.c.committed_due_at.label("case_committed_due_at"),
                   cases.c.legal_due_at.label("case_legal_due_at"), light_expression(now).label("light_now"),
                   cases.c.definition_id.label("case_definition_id"))
            .join_from(tasks, chosen, chosen.c.page_id == tasks.c.id)
            .join(cases, cases.c.id == tasks.c.case_id)
            .order_by(*ordering))


def _keyset(page: Select[Any], keys: list[ColumnElement[Any]], query: InboxQuery) -> Select[Any]:
    """Continue after the cursor's row (if any) and order ``page`` by ``keys`` in the query's direction."""
    if query.cursor:
        values = decode_cursor(query.cursor, query.sort, query.order)
        if len(values) != len(keys):
            raise InvalidInput(cursors.INVALID)
        last = tuple_(*[literal(v, type_=k.type) for k, v in zip(keys, values, strict=True)])
        page = page.where(tuple_(*keys) > last if query.order == "asc" else tuple_(*keys) < last)
    return page.order_by(*(keys if query.order == "asc" else [k.desc() for k in keys]))


def _merged_page(actor: Actor, query: InboxQuery, now: datetime) -> Any:
    """The page's task ids for "available" (or "all": available plus mine), by due or created time."""
    parts = [_available_part(actor, query, now)]
    if query.scope == "all":
        key = TaskItem.inbox_due_at if query.sort == "due" else TaskItem.created_at
        mine = (select(TaskItem.id.label("page_id"), key.label("page_key"))
                .where(TaskItem.state == "open", TaskItem.assignee == actor.username, *filter_conditions(query, now)))
        parts.append(_keyset(mine, [key, TaskItem.id], query).limit(query.limit + 1).subquery("mine"))
    if len(parts) == 1:
        return parts[0]
    merged = union_all(*[select(p.c.page_id, p.c.page_key) for p in parts]).subquery("merged")
    keys = [merged.c.page_key, merged.c.page_id]
    return (select(merged.c.page_id).order_by(*(keys if query.order == "asc" else [k.desc() for k in keys]))
            .limit(query.limit + 1).subquery("page"))


def _available_part(actor: Actor, query: InboxQuery, now: datetime) -> Any:
    """My groups' unclaimed tasks, read from the candidates' per-group partial index in due or created order.

    Each group's index range is already in order, so without filters this touches only my groups' entries
    and never the tasks of other groups. Filters on the task join ``tasks`` for the candidates found.
    """
    key = TaskCandidate.inbox_due_at if query.sort == "due" else TaskCandidate.created_at
    keys = [key, TaskCandidate.task_id]
    page = (select(TaskCandidate.task_id.label("page_id"), key.label("page_key")).distinct()
            .where(TaskCandidate.group_key.in_(sorted(actor.groups)), TaskCandidate.available == True))  # noqa: E712
    filters = filter_conditions(query, now)
    if filters:
        page = page.join(TaskItem, TaskItem.id == TaskCandidate.task_id).where(*filters)
    return _keyset(page, keys, query).limit(query.limit + 1).subquery("available")


def counts_statements(actor: Actor, query: InboxQuery, now: datetime) -> list[Select[Any]]:
    """Two SELECTs, for "mine" and for "available", each counting its tasks and the red and yellow among them.

    "available" starts from the candidates' partial index, so the count touches my groups' tasks only.
    """
    filters = filter_conditions(query, now)
    mine = select(*_tallies(TaskItem.inbox_due_at, TaskItem.inbox_yellow_at, now)).where(
        TaskItem.state == "open", TaskItem.assignee == actor.username, *filters)
    found = (select(TaskCandidate.task_id, TaskCandidate.inbox_due_at, TaskCandidate.inbox_yellow_at).distinct()
             .where(TaskCandidate.group_key.in_(sorted(actor.groups)), TaskCandidate.available == True))  # noqa: E712
    if filters:
        found = found.join(TaskItem, TaskItem.id == TaskCandidate.task_id).where(*filters)
    groups = found.subquery("groups")
    return [mine, select(*_tallies(groups.c.inbox_due_at, groups.c.inbox_yellow_at, now))]


def _tallies(due: Any, yellow: Any, now: datetime) -> list[Any]:
    red_now = due <= now
    yellow_now = and_(due > now, yellow <= now)
    return [func.count(), *[func.coalesce(func.sum(sql_case((c, 1), else_=0)), 0) for c in (red_now, yellow_now)]]


def completed_count_statement(actor: Actor, query: InboxQuery, now: datetime) -> Select[Any]:
    """Count the tasks ``actor`` completed, with the filters."""
    return select(func.count()).where(scope_condition(actor, "completed"), *filter_conditions(query, now))


def cursor_for(task: Any, query: InboxQuery, now: datetime) -> str:
    """The cursor that continues after ``task`` in ``query``'s sort and direction."""
    ranked = None
    if query.sort == "created":
        values: list[Any] = [task.created_at]
    elif query.sort == "due":
        values = [task.inbox_due_at]
    else:
        ranked = ranked_at(query, now)
        values = [_rank_of(task, ranked), task.inbox_due_at]
    return encode_cursor(query.sort, query.order, [*values, task.id], ranked=ranked)


def ranked_at(query: InboxQuery, now: datetime) -> datetime:
    """The instant the lights of ``query``'s pages are ranked at: its cursor's, else ``now`` (a first page).

    A light cursor made before cursors carried the instant ranks at ``now``, as every page did then.
    """
    if query.sort != "light" or not query.cursor:
        return now
    doc = cursors.unpack(query.cursor)
    if "n" not in doc:
        return now
    try:
        return cursors.instant(doc["n"], NO_DEADLINE)
    except (ValueError, OverflowError):
        raise InvalidInput(cursors.INVALID) from None


def _rank_of(task: Any, now: datetime) -> int:
    if task.inbox_due_at >= NO_DEADLINE:
        return 3
    if task.inbox_due_at <= now:
        return 0
    return 1 if task.inbox_yellow_at is not None and task.inbox_yellow_at <= now else 2


def encode_cursor(sort: str, order: str, values: list[Any], ranked: datetime | None = None) -> str:
    """Pack the sort, its direction and the last row's key into an opaque, URL-safe string.

    ``ranked`` is the instant a light sort ranks at (:func:`ranked_at`), kept for the pages after this one.
    """
    keys = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    doc = {"s": sort, "o": order, "k": keys}
    if ranked is not None:
        doc["n"] = ranked.isoformat()
    return cursors.pack(doc)


def decode_cursor(cursor: str, sort: str, order: str) -> list[Any]:
    """Unpack a cursor made by :func:`encode_cursor`; refuse one made for another sort or direction."""
    doc = cursors.unpack(cursor)
    try:
        made_for = (doc["s"], doc["o"])
        values = [cursors.instant(v["t"], NO_DEADLINE) if isinstance(v, dict) else int(v) for v in doc["k"]]
        *leading, last_id = values
        # An edited cursor must not reach the database with a number its columns cannot hold (a 500 there):
        # the last key is a task id (64-bit), any other number a light's rank (0 red .. 3 none).
        if not 1 <= last_id < 2 ** 63 or any(isinstance(v, int) and not 0 <= v <= 3 for v in leading):
            raise ValueError("not a key of the inbox")
    except (ValueError, TypeError, KeyError, OverflowError):   # OverflowError: int() of 1e400 (infinity)
        raise InvalidInput(cursors.INVALID) from None
    if made_for != (sort, order):
        raise BadRequest(f"分页游标属于另一种排序（{made_for[0]} {made_for[1]}），不能用于当前排序（{sort} {order}）",
                         code="CURSOR_SORT_MISMATCH", details={"cursor_sort": made_for[0], "sort": sort})
    # Each key must be of its column's kind: a number where a time belongs would reach the time column.
    shape = (int, datetime, int) if sort == "light" else (datetime, int)
    if len(values) != len(shape) or not all(isinstance(v, kind) for v, kind in zip(values, shape, strict=False)):
        raise InvalidInput(cursors.INVALID)
    return values
