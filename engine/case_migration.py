"""Migrating one running case to another version of its process: the check and the MigrateCase handler.

A case moves only when nothing it is doing now would change meaning (see :mod:`engine.spiff.migration` for
the workflow rules). On top of those, an open inbox task must keep its form and its candidates in the
target (the same form key pinned at the same form version), since the inbox row was routed and will be
validated by them. Clocks already started keep their
budgets (they were started under the old rules); open tasks keep their deadlines. A clock that still waits for
a task (to start at 受理, to end a period at 阶段办结, or for the one-time 补正 notice) must wait for the same tasks
in the target: the case stores those task ids, and a target that renamed or dropped one would leave the
statutory deadline silently never starting (``MIGRATION_CLOCK_CHANGED``).

The handler is one transaction like every command: lock the case (waiting at most ``lock_timeout``), refuse
when the row changed since the plan was made, check again under the lock, move the workflow, write the
snapshot, re-pin the case and record ``CaseMigrated``. Replay issues the same command at that event.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from . import events as ev
from .commands import Actor, MigrateCase
from .definitions import element_ids
from .deployment import LoadedDefinition
from .errors import Conflict, Forbidden
from .handlers import CaseRef, Services, _record
from .persistence.case_records import CaseRecord
from .persistence.unit_of_work import SqlAlchemyUnitOfWork, _is_serialization_failure
from .spiff.serializer import SERIALIZER_VERSION

MIGRATING_ROLES = frozenset({"admin", "system"})


@dataclass(frozen=True)
class Refusal:
    """Why one case cannot migrate: a stable code, a Chinese message and the element concerned."""

    code: str
    message: str
    element_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape used by plans, API responses and the CLI."""
        return {"code": self.code, "message": self.message, "element_id": self.element_id}


class MigrationRefused(Conflict):
    """The case cannot move to the target version; ``details["refusals"]`` lists every reason."""

    code = "MIGRATION_REFUSED"


def require_migrator(actor: Actor) -> None:
    """Only administrators (or the engine itself) migrate cases."""
    if not MIGRATING_ROLES.intersection(actor.roles):
        raise Forbidden("只有系统管理员可以迁移办件的流程版本", code="MIGRATION_FORBIDDEN")


def check_case(svc: Services, case: CaseRecord, workflow: Any, source: LoadedDefinition,
               target: LoadedDefinition, open_tasks: list[str]) -> list[Refusal]:
    """Return every reason ``case`` (at ``source``) cannot move to ``target``; empty when it can.

    ``open_tasks`` are the element ids of the case's open inbox rows.
    """
    if case.status != "running":
        return [Refusal("MIGRATION_CASE_ENDED", f"办件 {case.case_no} 已办结，无需迁移")]
    if case.definition_id != source.id:
        return [Refusal("MIGRATION_WRONG_VERSION",
                        f"办件 {case.case_no} 不在第 {source.version} 版上（已在其他版本）")]
    refusals = [Refusal(b.code, b.message, b.element_id)
                for b in svc.runner.migration_blockers(workflow, target.spec, target.subprocess_specs)]
    for element_id in dict.fromkeys(open_tasks):
        old, new = source.user_tasks.get(element_id), target.user_tasks.get(element_id)
        if old is None or new is None:
            continue  # a removed task is reported by the workflow check
        if old.form_key != new.form_key:
            refusals.append(Refusal("MIGRATION_TASK_FORM_CHANGED",
                                    f"待办环节 {element_id}（{old.name}）在目标版本中表单已由 {old.form_key} 改为 "
                                    f"{new.form_key}；请等该环节办结后再迁移", element_id))
        elif _pinned_hash(source, old.form_key) != _pinned_hash(target, new.form_key):
            # Same key, another pinned version: the task would be validated against fields it never showed.
            refusals.append(Refusal("MIGRATION_TASK_FORM_CHANGED",
                                    f"待办环节 {element_id}（{old.name}）的表单 {old.form_key} 在目标版本中已改版"
                                    f"（锁定的表单版本不同）；请等该环节办结后再迁移", element_id))
        if (old.candidate_groups, old.candidate_users) != (new.candidate_groups, new.candidate_users):
            refusals.append(Refusal("MIGRATION_TASK_CANDIDATES_CHANGED",
                                    f"待办环节 {element_id}（{old.name}）在目标版本中办理人（候选组）已改变；"
                                    f"请等该环节办结后再迁移", element_id))
    return refusals + _clock_refusals(case, target)


_CLOCK_NAMES = {"legal": "法定时限", "committed": "承诺时限"}
_CLOCK_STEPS = (("starts_at", "起算", "该时限将永远不会起算"), ("stops_at", "结束本期", "该时限的本期将永远不会结束"),
                ("notice_by", "一次性告知补正", "告知将无从记录，第三十二条的五日规则将无法适用"))
"""Task ids a case's clock may still wait for: the key stored on the case, what the task does, what breaks."""


def _clock_refusals(case: CaseRecord, target: LoadedDefinition) -> list[Refusal]:
    """A clock of ``case`` still waiting for a task the target no longer has.

    The case keeps its clocks as they were declared when it started (like its budgets), task ids included; a
    renamed or removed task would never come, so the clock would silently never start (or end its period).
    """
    refusals = []
    for kind, entry in sorted((case.clocks or {}).items()):
        if not isinstance(entry, dict):
            continue
        pending = entry.get("pending") or {}
        for key, step, broken in _CLOCK_STEPS:
            if key == "notice_by" and pending.get("notice_at") and not entry.get("notice_by"):
                continue    # given already, and no later period waits for another
            waits_for = element_ids(pending.get(key)) or element_ids(entry.get(key))
            gone = [element for element in waits_for if element not in target.user_tasks]
            if gone:
                refusals.append(Refusal(
                    "MIGRATION_CLOCK_CHANGED",
                    f"办件 {case.case_no} 的{_CLOCK_NAMES.get(kind, kind)}等待环节 {'、'.join(gone)} {step}，"
                    f"该环节在目标版本中已不存在，迁移后{broken}；请等该环节办结后再迁移", gone[0]))
    return refusals


def _pinned_hash(definition: LoadedDefinition, form_key: str | None) -> str | None:
    """The content hash of the form version ``definition`` pins for ``form_key`` (None: no form)."""
    form = definition.forms.get(form_key) if form_key else None
    return form.content_hash if form is not None else None


def target_definition(uow: SqlAlchemyUnitOfWork, svc: Services, process_key: str, version: int) -> LoadedDefinition:
    """Return version ``version`` of ``process_key``, parsed (NotFound when it is not deployed)."""
    return svc.catalog.get(uow, uow.definitions.latest_id(process_key, version))


def migrate_case(cmd: MigrateCase, svc: Services) -> CaseRef:
    """Move one running case onto version ``cmd.to_version`` of its process; refused with every reason."""
    require_migrator(cmd.actor)
    now = svc.clock.now()
    uow = svc.uow()
    uow.lock_timeout = cmd.lock_timeout
    with uow:
        case = _lock(uow, cmd.case_id)
        if cmd.expected_version is not None and case.version != cmd.expected_version:
            raise Conflict(f"办件 {case.case_no} 在制定迁移计划后已被办理（版本 {cmd.expected_version} → "
                           f"{case.version}）", code="MIGRATION_CASE_CHANGED",
                           details={"case_id": case.id, "version": case.version})
        source = svc.catalog.get(uow, case.definition_id)
        target = target_definition(uow, svc, case.process_key, cmd.to_version)
        if target.id == source.id:
            raise MigrationRefused(f"办件 {case.case_no} 已在第 {target.version} 版上", details={"refusals": [
                Refusal("MIGRATION_SAME_VERSION", f"办件 {case.case_no} 已在第 {target.version} 版上").to_dict()]})
        workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                       source.spec, source.subprocess_specs)
        refusals = check_case(svc, case, workflow, source, target, uow.versions.open_task_elements(case.id))
        if refusals:
            raise MigrationRefused(refusals[0].message, details={"case_id": case.id,
                                                                 "refusals": [r.to_dict() for r in refusals]})
        moved, mapping = svc.runner.migrate(workflow, target.spec, target.subprocess_specs)
        event = ev.CaseMigrated(process_key=case.process_key, from_version=source.version,
                                to_version=target.version, from_hash=source.content_hash,
                                to_hash=target.content_hash, mapping=dict(sorted(mapping.items())))
        case.set(workflow_state=svc.runner.dump(moved), serializer_version=SERIALIZER_VERSION)
        uow.cases.save(case, events=_record(case, [event], cmd.actor, now))
        uow.versions.repin(case.id, target.id)
        uow.commit()
    svc.runner.checkin(case.id, case.version, target.id, moved)
    return CaseRef(case.id, case.case_no, case.status, case.version)


def _lock(uow: SqlAlchemyUnitOfWork, case_id: int) -> CaseRecord:
    try:
        return uow.cases.lock(case_id)
    except DBAPIError as exc:
        if _is_serialization_failure(exc):
            raise Conflict("办件正被其他操作锁定，稍后重试", code="LOCK_TIMEOUT",
                           details={"case_id": case_id}) from None
        raise
