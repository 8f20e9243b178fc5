"""Versions of a process for designers and administrators: list, structural diff, case migration in batches.

A migration is planned first: every selected case is checked (see :mod:`engine.case_migration`) and listed
as allowed or refused with its reasons. Applying works through the allowed cases in batches, each case its
own MigrateCase transaction that refuses a case changed since its plan; such a case is planned again and
tried once more, then refused cleanly (``MIGRATION_CASE_BUSY``). Each run is one ``migrate`` entry in the
definition log; each case migrated is a ``CaseMigrated`` event in its own audit chain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .case_migration import Refusal, check_case, migrate_case, require_migrator, target_definition
from .commands import Actor, MigrateCase
from .errors import Conflict, InvalidInput, NotFound
from .handlers import Services
from .lint_diff import diff_diagrams
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .persistence.version_repository import VersionRepository

MAX_BATCH = 1000


@dataclass(frozen=True)
class CasePlan:
    """One case in a migration plan: where it waits, and whether it may move (else why not)."""

    case_id: int
    case_no: str
    row_version: int
    waiting_at: tuple[str, ...]
    refusals: tuple[Refusal, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the case may migrate."""
        return not self.refusals

    def to_dict(self) -> dict[str, Any]:
        """JSON shape in API answers."""
        return {"case_id": self.case_id, "case_no": self.case_no, "allowed": self.allowed,
                "waiting_at": list(self.waiting_at), "refusals": [r.to_dict() for r in self.refusals]}


@dataclass
class MigrationReport:
    """What a migration run did (or, dry, would do)."""

    process_key: str
    from_version: int
    to_version: int
    dry_run: bool
    planned: list[CasePlan] = field(default_factory=list)
    migrated: list[CasePlan] = field(default_factory=list)
    refused: list[CasePlan] = field(default_factory=list)
    retried: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON shape in API answers."""
        return {"process_key": self.process_key, "from_version": self.from_version,
                "to_version": self.to_version, "dry_run": self.dry_run, "retried": self.retried,
                "allowed": sum(1 for p in self.planned if p.allowed), "planned": len(self.planned),
                "migrated": [p.to_dict() for p in self.migrated], "refused": [p.to_dict() for p in self.refused],
                "cases": [p.to_dict() for p in self.planned]}


class Versions:
    """Version listing, diffs and migrations of one engine's definitions."""

    max_batch = MAX_BATCH
    """The largest number of cases one migration batch may hold."""

    def __init__(self, services: Services, reader: Callable[[], SqlAlchemyUnitOfWork], *, max_bpmn_bytes: int):
        self.services = services
        self.reader = reader
        self.max_bpmn_bytes = max_bpmn_bytes

    def list(self, process_key: str) -> dict[str, Any]:
        """Every version of ``process_key``, newest first, with its cases by status and its log entries."""
        with self.reader() as uow:
            rows = uow.versions.definitions(process_key)
            counts = uow.versions.case_counts(process_key)
            log = uow.versions.log_entries("process", process_key)
        if not rows:
            raise NotFound(f"流程 {process_key} 尚未部署", details={"process_key": process_key})
        current = rows[-1]["version"]
        versions = [{**row, "current": row["version"] == current, "cases": counts.get(row["id"], {}),
                     "running_cases": counts.get(row["id"], {}).get("running", 0),
                     "log": [_entry(e) for e in log if e["version"] == row["version"]
                             or e["from_version"] == row["version"]]}
                    for row in reversed(rows)]
        return {"process_key": process_key, "name": rows[-1]["name"], "current_version": current,
                "versions": versions, "log": [_entry(e) for e in log]}

    def diff(self, process_key: str, from_version: int, to_version: int) -> dict[str, Any]:
        """Structural diff of two deployed versions (see :mod:`engine.lint_diff`), and of the rest they hash.

        A version can differ from the one before in what is outside its diagram: a pinned form (``forms``
        says which key moved to which form version), its 一件事 bundle mapping (``bundle``: entries added,
        removed, changed) or a diagram it calls into, deployed with it (``resources``: file names). The
        elements are all unchanged then, and these sections say why it is a new version.
        """
        with self.reader() as uow:
            old, new = (_definition(uow.versions, process_key, v) for v in (from_version, to_version))
        result = diff_diagrams(old["bpmn_xml"], new["bpmn_xml"], process_key, max_bytes=self.max_bpmn_bytes)
        return {"process_key": process_key, "from": _version_head(old), "to": _version_head(new),
                **result.to_dict(), "forms": _pinned_forms_diff(old["form_refs"] or {}, new["form_refs"] or {}),
                "bundle": _bundle_diff((old["meta"] or {}).get("bundle"), (new["meta"] or {}).get("bundle")),
                "resources": _resources_diff(old["resources"] or {}, new["resources"] or {})}

    def plan(self, process_key: str, from_version: int, to_version: int, *, actor: Actor,
             cases: Iterable[str] | None = None) -> list[CasePlan]:
        """Check every selected running case of ``from_version`` (all when ``cases`` is None); write nothing."""
        require_migrator(actor)
        with self.reader() as uow:
            source, target = self._pair(uow, process_key, from_version, to_version)
            rows = uow.versions.running_cases(process_key, source.id, None if cases is None else list(cases))
            known = {str(r["id"]) for r in rows} | {r["case_no"] for r in rows}
            missing = [c for c in (cases or ()) if str(c) not in known]
            if missing:
                raise NotFound(f"流程 {process_key} 没有这些办件：{'、'.join(map(str, missing[:10]))}",
                               details={"cases": missing})
            return [self._plan_case(uow, row["id"], source, target) for row in rows]

    def migrate(self, process_key: str, from_version: int, to_version: int, *, actor: Actor,
                cases: Iterable[str] | None = None, dry_run: bool = False, batch: int = 50,
                progress: Callable[[CasePlan, str], None] | None = None, lock_timeout: float | None = 5.0,
                planned: list[CasePlan] | None = None) -> MigrationReport:
        """Plan, then (unless ``dry_run``) migrate the allowed cases ``batch`` at a time; log the run.

        ``progress`` is called once per planned case with its plan and ``migrated``, ``refused`` or
        ``planned`` (dry run). ``planned`` reuses a plan made by :meth:`plan` (each case is checked again
        under its lock anyway, and refused when it changed since).
        """
        if not 1 <= batch <= MAX_BATCH:
            message = f"批量大小应在 1 至 {MAX_BATCH} 之间"
            raise InvalidInput(message, details={"fields": {"batch": [message]}})
        require_migrator(actor)
        report = MigrationReport(process_key, from_version, to_version, dry_run)
        report.planned = planned if planned is not None else self.plan(process_key, from_version, to_version,
                                                                       actor=actor, cases=cases)
        for start in range(0, len(report.planned), batch):
            for plan in report.planned[start:start + batch]:
                outcome = "planned" if dry_run else self._apply(report, plan, actor, lock_timeout)
                if progress is not None:
                    progress(plan, outcome)
        if not dry_run:
            self._log(report, actor)
        return report

    def _pair(self, uow: SqlAlchemyUnitOfWork, process_key: str, from_version: int, to_version: int) -> tuple:
        if from_version == to_version:
            raise InvalidInput("源版本与目标版本相同，无需迁移", code="MIGRATION_SAME_VERSION")
        return (target_definition(uow, self.services, process_key, from_version),
                target_definition(uow, self.services, process_key, to_version))

    def _plan_case(self, uow: SqlAlchemyUnitOfWork, case_id: int, source: Any, target: Any) -> CasePlan:
        svc = self.services
        case = uow.versions.read_case(case_id)
        open_tasks = uow.versions.open_task_elements(case_id)
        if case.definition_id != source.id or case.status != "running":
            refusals = check_case(svc, case, None, source, target, open_tasks)
            return CasePlan(case.id, case.case_no, case.version, tuple(open_tasks), tuple(refusals))
        workflow = svc.runner.load(case.workflow_state, source.spec, source.subprocess_specs)
        refusals = check_case(svc, case, workflow, source, target, open_tasks)
        return CasePlan(case.id, case.case_no, case.version, tuple(svc.runner.live_elements(workflow)),
                        tuple(refusals))

    def _apply(self, report: MigrationReport, plan: CasePlan, actor: Actor, lock_timeout: float | None) -> str:
        if not plan.allowed:
            report.refused.append(plan)
            return "refused"
        for attempt in (1, 2):
            try:
                migrate_case(MigrateCase(plan.case_id, actor, report.to_version, plan.row_version, lock_timeout),
                             self.services)
                report.migrated.append(plan)
                return "migrated"
            except Conflict as exc:
                refusals = exc.details.get("refusals")
                if refusals:
                    report.refused.append(CasePlan(plan.case_id, plan.case_no, plan.row_version, plan.waiting_at,
                                                   tuple(Refusal(**r) for r in refusals)))
                    return "refused"
                if attempt == 2:
                    break
                report.retried += 1
                plan = self._replan(report, plan)
                if not plan.allowed:
                    report.refused.append(plan)
                    return "refused"
        busy = Refusal("MIGRATION_CASE_BUSY", f"办件 {plan.case_no} 正在被其他操作办理，重试一次后仍未能迁移，已跳过")
        report.refused.append(CasePlan(plan.case_id, plan.case_no, plan.row_version, plan.waiting_at, (busy,)))
        return "refused"

    def _replan(self, report: MigrationReport, plan: CasePlan) -> CasePlan:
        with self.reader() as uow:
            source, target = self._pair(uow, report.process_key, report.from_version, report.to_version)
            return self._plan_case(uow, plan.case_id, source, target)

    def _log(self, report: MigrationReport, actor: Actor) -> None:
        with self.services.uow() as uow:
            target = uow.versions.definition(report.process_key, report.to_version)
            uow.versions.log(kind="process", key=report.process_key, action="migrate", version=report.to_version,
                             from_version=report.from_version, content_hash=target["content_hash"] if target else None,
                             actor=actor.username, at=self.services.clock.now(), detail={
                                 "planned": len(report.planned), "migrated": len(report.migrated),
                                 "refused": len(report.refused), "retried": report.retried,
                                 "cases": [p.case_no for p in report.migrated][:500],
                                 "refusals": [{"case_no": p.case_no, "code": p.refusals[0].code}
                                              for p in report.refused][:500]})
            uow.commit()


def _definition(repo: VersionRepository, process_key: str, version: int) -> dict[str, Any]:
    row = repo.definition(process_key, version)
    if row is None:
        raise NotFound(f"流程 {process_key} 的第 {version} 版尚未部署",
                       details={"process_key": process_key, "version": version})
    return row


def _pinned_forms_diff(old: dict[str, str], new: dict[str, str]) -> dict[str, Any]:
    """Form keys pinned only by the new version, only by the old one, and pinned at another content hash."""
    return {"added": sorted(new.keys() - old.keys()), "removed": sorted(old.keys() - new.keys()),
            "changed": [{"key": key, "from_hash": old[key], "to_hash": new[key]}
                        for key in sorted(old.keys() & new.keys()) if old[key] != new[key]]}


def _bundle_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """Entries of the bundle mapping only the new version has, only the old one has, and changed ones."""
    before, after = _bundle_entries(old), _bundle_entries(new)
    return {"added": [{"entry": k, "value": after[k]} for k in sorted(after.keys() - before.keys())],
            "removed": [{"entry": k, "value": before[k]} for k in sorted(before.keys() - after.keys())],
            "changed": [{"entry": k, "from": before[k], "to": after[k]}
                        for k in sorted(before.keys() & after.keys()) if before[k] != after[k]]}


def _bundle_entries(doc: dict[str, Any] | None) -> dict[str, Any]:
    """A stored bundle mapping as entries named by path, e.g. ``materials.articles.name``, ``matters.sub_seal.form``.

    Materials are named by their key and matters by their subprocess element, so a reordered list is no change;
    a matter's ``fields`` and ``materials`` maps give one entry per mapped field.
    """
    if not doc:
        return {}
    entries = {key: doc.get(key) for key in ("code", "name", "process", "form", "form_hash")}
    for material in doc.get("materials") or ():
        entries.update({f"materials.{material['key']}.{attr}": value
                        for attr, value in material.items() if attr != "key"})
    for index, matter in enumerate(doc.get("matters") or ()):
        at = f"matters.{matter.get('subprocess') or index}"
        for attr, value in matter.items():
            if isinstance(value, dict):
                entries.update({f"{at}.{attr}.{key}": item for key, item in value.items()})
            elif attr != "subprocess":
                entries[f"{at}.{attr}"] = value
    return entries


def _resources_diff(old: dict[str, str], new: dict[str, str]) -> dict[str, list[str]]:
    """Names of the diagrams a version calls into (deployed with it): only in the new, only in the old, changed."""
    return {"added": sorted(new.keys() - old.keys()), "removed": sorted(old.keys() - new.keys()),
            "changed": sorted(name for name in old.keys() & new.keys() if old[name] != new[name])}


def _version_head(row: dict[str, Any]) -> dict[str, Any]:
    return {"version": row["version"], "content_hash": row["content_hash"], "deployed_at": row["deployed_at"],
            "deployed_by": row["deployed_by"]}


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {"action": row["action"], "version": row["version"], "from_version": row["from_version"],
            "content_hash": row["content_hash"], "actor": row["actor"], "at": row["at"], "detail": row["detail"]}

