"""办结即归档: build each closed case's archive package, once, from a durable job; list and serve them.

The closing transaction only queues a row in ``archives`` (see ``CaseRepository.save``): file I/O never
runs inside it, so a full disk cannot fail a case. Workers lease due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, the writer lock on SQLite), build the zip into a temporary file next to its final place, check
it with the offline verifier (归档检测), and only then move it into place and mark the row ``built`` in
one transaction guarded by their lease, so each package is built exactly once. A failed build is retried
with back-off and gives up (``failed``) after :data:`MAX_ATTEMPTS`; so does one whose worker died while
building it (its lease runs out: leased again, or ``failed`` with 归档生成未完成（进程中断） after the last
attempt). Packages are deterministic, so a worker that lost its lease and a rebuild both produce the same bytes.
"""
from __future__ import annotations

import logging
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import undefer

from .archive_verify import verify_archive
from .archive_writer import ArchiveBuildFailed, MaterialFile, PackageInput, write_package
from .archive_registry import ArchiveInfo, archive_info
from .audit import ChainedEvent
from .case_history import StoredEvent, event_columns
from .clock import CST
from .errors import Conflict, EngineError, NotFound
from .persistence.models import (
    Application, Case, CaseEvent, CaseMaterial, FormVersion, MatterVersion, Message, ProcessDefinition,
)

log = logging.getLogger("tongban.archives")
MAX_ATTEMPTS = 5
"""Builds tried before a job is left ``failed`` for an operator (``tongban archive build CASE`` retries it)."""
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
LEASE = timedelta(minutes=10)


def build_due(engine: Any, *, worker: str, limit: int = 10) -> tuple[int, int]:
    """Build the packages that are due (queued, or leased by a worker that vanished); return (built, failed)."""
    now = engine.clock.now()
    with engine.services.uow() as uow:
        jobs = uow.archives.claim(now, worker=worker, lease_until=now + LEASE, limit=limit, max_attempts=MAX_ATTEMPTS)
        uow.commit()
    built = failed = 0
    for job in jobs:
        if _run(engine, job, worker):
            built += 1
        else:
            failed += 1
    return built, failed


def build_now(engine: Any, case_ref: str | int, *, worker: str) -> ArchiveInfo:
    """Build (or rebuild) one closed case's package right away (``tongban archive build CASE``).

    Raises:
        NotFound: no such case.
        Conflict: the case is still running (``ARCHIVE_CASE_OPEN``), or a worker is building it now.
        ArchiveBuildFailed: the package could not be produced; the job is left to retry.
    """
    case_id = find_case(engine, case_ref)
    now = engine.clock.now()
    with engine.services.uow() as uow:
        case = uow.cases.lock(case_id)
        if case.status != "completed":
            raise Conflict(f"办件 {case.case_no} 尚未办结，不能归档", code="ARCHIVE_CASE_OPEN",
                           details={"case_no": case.case_no, "status": case.status})
        row = uow.archives.by_case(case_id)
        if row is not None and row.state == "building" and row.locked_until > now:
            raise Conflict(f"办件 {case.case_no} 的归档包正在由 {row.locked_by} 生成", code="ARCHIVE_BUILDING")
        uow.archives.enqueue(case_id, case.case_no, now)
        (job,) = uow.archives.claim(now, worker=worker, lease_until=now + LEASE, limit=1, case_id=case_id)
        uow.commit()
    _build(engine, job, worker)
    return archive_info(engine, case_id)


def queue_missing(engine: Any) -> int:
    """Queue the packages of closed cases that have none (closed before archiving was installed)."""
    with engine.services.uow() as uow:
        count = uow.archives.enqueue_missing(engine.clock.now())
        uow.commit()
    return count


def _run(engine: Any, job: Any, worker: str) -> bool:
    try:
        return _build(engine, job, worker)
    except Exception as exc:  # noqa: BLE001 - one package's failure must not stop the others
        if isinstance(exc, EngineError):
            log.warning("archive of case %s failed: %s", job.case_no, exc)
        else:
            log.exception("archive of case %s failed unexpectedly", job.case_no)
        return False


def _build(engine: Any, job: Any, worker: str) -> bool:
    """Build one leased job; False when the lease was lost meanwhile (another worker owns the job now)."""
    root = Path(engine.config.archives_dir)
    temp: Path | None = None
    try:
        package, event_seq, relative = _collect_and_write(engine, job, root)
        temp = package
        check = verify_archive(temp)   # 归档检测: the package must pass the offline check before it counts
        if not check.ok:
            raise ArchiveBuildFailed(f"归档检测未通过：{check.problem.describe()}", details={"case_no": job.case_no})
        with engine.services.uow() as uow:
            if not uow.archives.finish(job.id, worker, built_at=engine.clock.now(), event_seq=event_seq,
                                       chain_head=check.chain_head, sha256=check.sha256, size=check.size,
                                       path=relative.as_posix()):
                return False
            os.replace(temp, root / relative)
            temp = None
            uow.commit()
        return True
    except Exception as exc:
        retry = BACKOFF[min(job.attempts, len(BACKOFF)) - 1] if job.attempts < MAX_ATTEMPTS else None
        with engine.services.uow() as uow:
            uow.archives.fail(job.id, worker, error=_error_text(exc),
                              retry_at=engine.clock.now() + retry if retry is not None else None)
            uow.commit()
        raise
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)


def _collect_and_write(engine: Any, job: Any, root: Path) -> tuple[Path, int, Path]:
    with engine.database.read_sessions() as session:
        case = session.get(Case, job.case_id)
        if case is None or case.status != "completed":
            raise ArchiveBuildFailed(f"办件 {job.case_no} 不存在或尚未办结", details={"case_no": job.case_no})
        package = _package_input(session, engine, case)
        ended = case.ended_at or case.updated_at
        relative = Path(f"{ended.astimezone(CST):%Y}") / (case.owning_district or "-") / f"{case.case_no}.zip"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=root / relative.parent, prefix=f".{case.case_no}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w+b") as out:
                write_package(out, package)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name), case.event_seq, relative


def _package_input(session: Any, engine: Any, case: Case) -> PackageInput:
    definition = session.scalars(select(ProcessDefinition).options(
        undefer(ProcessDefinition.bpmn_xml), undefer(ProcessDefinition.resources))
        .where(ProcessDefinition.id == case.definition_id)).one()
    bundle = (definition.meta or {}).get("bundle")
    pins = dict(definition.form_refs)
    if bundle is not None:
        pins[bundle["form"]] = bundle["form_hash"]
    forms = {}
    for key, content_hash in pins.items():
        row = session.scalars(select(FormVersion).options(undefer(FormVersion.source)).where(
            FormVersion.form_key == key, FormVersion.content_hash == content_hash)).first()
        if row is None:
            raise ArchiveBuildFailed(f"流程引用的表单 {key} 版本缺失", details={"form_key": key})
        forms[key] = {"version": row.version, "content_hash": row.content_hash, "source": row.source}
    matter = None
    if case.matter_code is not None:
        matter = session.scalars(select(MatterVersion).where(MatterVersion.code == case.matter_code,
                                                             MatterVersion.version == case.matter_version)).one()
    application = session.scalars(select(Application).where(Application.case_id == case.id)).first()
    return PackageInput(
        case={"case_no": case.case_no, "title": case.title, "status": case.status, "stage": case.stage,
              "started_by": case.started_by, "clocks": case.clocks, "closed_at": case.ended_at or case.updated_at},
        definition={"process_key": definition.process_key, "version": definition.version,
                    "name": definition.name, "content_hash": definition.content_hash,
                    "source_name": definition.source_name, "bpmn_xml": definition.bpmn_xml,
                    "resources": definition.resources or {}, "form_refs": definition.form_refs, "bundle": bundle},
        forms=forms,
        catalog=None if matter is None else {"code": matter.code, "version": matter.version,
                                             "content_hash": matter.content_hash, "name": matter.name,
                                             "doc": matter.doc},
        application=None if application is None else _application(application),
        materials=_materials(session, engine, case.id, matter),
        events=_events(session, case),
        handoff=_first_message(session, case),
    )


def _first_message(session: Any, case: Case) -> dict[str, Any] | None:
    """The first message the case received (the one it was opened on, for a message-started case).

    The audit log keeps only the payload's sha256 (``MessageReceived``); the package carries the payload from
    the ``messages`` row, so the offline check can tie the handoff manifest, and so the materials, to the chain.
    """
    payload = session.scalar(select(CaseEvent.payload).where(CaseEvent.case_id == case.id,
                                                             CaseEvent.event_type == "MessageReceived")
                             .order_by(CaseEvent.seq).limit(1))
    if not payload or not payload.get("idempotency_key"):
        return None
    row = session.scalars(select(Message).where(Message.idempotency_key == payload["idempotency_key"])).first()
    if row is None:
        return None
    return {"name": row.name, "idempotency_key": row.idempotency_key,
            "sender_case_no": payload.get("sender_case_no"), "payload": row.payload}


def _application(row: Application) -> dict[str, Any]:
    return {c: getattr(row, c) for c in (
        "matter_code", "matter_version", "channel", "applicant_kind", "applicant_name", "applicant_id_type",
        "applicant_id_number", "legal_representative", "agent_kind", "agent_name", "agent_id_type",
        "agent_id_number", "agent_authorization", "contact_phone", "form_data", "missing", "tolerance",
        "received_by", "received_at")}


def _materials(session: Any, engine: Any, case_id: int, matter: MatterVersion | None) -> list[MaterialFile]:
    names = {m.get("key"): m.get("name") for m in ((matter.doc if matter else {}).get("materials") or [])}
    store = engine.services.materials
    found = []
    for row in session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case_id)):
        opener = None
        if row.sha256 is not None and store is not None and store.exists(row.sha256):
            opener = (lambda path: lambda: open(path, "rb"))(store.path_of(row.sha256))
        found.append(MaterialFile(row.material_key, names.get(row.material_key) or row.material_key, row.sha256,
                                  row.size, row.media_type, row.original_filename, row.license_ref, row.verified_by,
                                  row.verified_at, row.received_at, opener))
    return found


def _events(session: Any, case: Case) -> Iterator[ChainedEvent]:
    rows = session.execute(select(*event_columns(StoredEvent))
                           .where(CaseEvent.case_id == case.id, CaseEvent.seq <= case.event_seq)
                           .order_by(CaseEvent.seq).execution_options(yield_per=1000))
    try:
        for row in rows:
            yield ChainedEvent(case.case_no, *row)
    finally:
        rows.close()


def _error_text(exc: BaseException) -> str:
    return exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"


def find_case(engine: Any, case_ref: str | int) -> int:
    """The id of the case named by id or 办件编号; NotFound otherwise."""
    with engine.database.read_sessions() as session:
        stmt = select(Case.id).where(Case.id == int(case_ref)) if str(case_ref).isdigit() else \
            select(Case.id).where(Case.case_no == str(case_ref))
        found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"办件 {case_ref} 不存在", details={"case": str(case_ref)})
    return int(found)
