"""Definition versions as designers and administrators see them: case counts, the definition log, re-pinning."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound
from .case_records import CASE_RECORD_COLUMNS, CaseRecord
from .models import Case, DefinitionLog, ProcessDefinition, TaskItem

_cases = Case.__table__
_log = DefinitionLog.__table__
_definitions = ProcessDefinition.__table__
_tasks = TaskItem.__table__


class VersionRepository:
    """Reads and writes on a connection: a unit of work's (writes) or a read session's (reads)."""

    def __init__(self, connection: Connection | Session):
        self.connection = connection

    def definitions(self, process_key: str) -> list[dict[str, Any]]:
        """Every version of ``process_key``, oldest first, without its XML."""
        rows = self.connection.execute(
            select(_definitions.c.id, _definitions.c.version, _definitions.c.name, _definitions.c.content_hash,
                   _definitions.c.deployed_at, _definitions.c.deployed_by)
            .where(_definitions.c.process_key == process_key).order_by(_definitions.c.version))
        return [dict(r._mapping) for r in rows]

    def definition(self, process_key: str, version: int) -> dict[str, Any] | None:
        """One version of ``process_key`` with its XML, or None."""
        row = self.connection.execute(select(_definitions).where(
            _definitions.c.process_key == process_key, _definitions.c.version == version)).one_or_none()
        return None if row is None else dict(row._mapping)

    def definition_by_hash(self, process_key: str, content_hash: str) -> dict[str, Any] | None:
        """The version of ``process_key`` with this content hash, or None."""
        row = self.connection.execute(select(_definitions.c.id, _definitions.c.version).where(
            _definitions.c.process_key == process_key, _definitions.c.content_hash == content_hash)).one_or_none()
        return None if row is None else dict(row._mapping)

    def case_counts(self, process_key: str) -> dict[int, dict[str, int]]:
        """Cases per definition id and status (``running``, ``completed``, ...)."""
        rows = self.connection.execute(
            select(_cases.c.definition_id, _cases.c.status, func.count())
            .where(_cases.c.process_key == process_key).group_by(_cases.c.definition_id, _cases.c.status))
        counts: dict[int, dict[str, int]] = {}
        for definition_id, status, count in rows:
            counts.setdefault(definition_id, {})[status] = int(count)
        return counts

    def running_cases(self, process_key: str, definition_id: int,
                      refs: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Running cases on ``definition_id``; or, given ``refs`` (ids or 办件编号), those cases of the process."""
        stmt = select(_cases.c.id, _cases.c.case_no, _cases.c.version, _cases.c.status, _cases.c.definition_id)
        if refs is None:
            stmt = stmt.where(_cases.c.definition_id == definition_id, _cases.c.status == "running")
        else:
            refs = list(refs)
            ids = [int(r) for r in refs if str(r).isdigit()]
            stmt = stmt.where(_cases.c.process_key == process_key,
                              _cases.c.id.in_(ids) | _cases.c.case_no.in_([str(r) for r in refs]))
        return [dict(r._mapping) for r in self.connection.execute(stmt.order_by(_cases.c.id))]

    def open_task_elements(self, case_id: int) -> list[str]:
        """Element ids of the case's open inbox rows."""
        rows = self.connection.execute(select(_tasks.c.element_id).where(
            _tasks.c.case_id == case_id, _tasks.c.state == "open").order_by(_tasks.c.id))
        return list(rows.scalars())

    def read_case(self, case_id: int) -> CaseRecord:
        """Read one case row with its workflow state, without locking it (plans re-check under the lock)."""
        row = self.connection.execute(select(*CASE_RECORD_COLUMNS).where(_cases.c.id == case_id)).one_or_none()
        if row is None:
            raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
        return CaseRecord(*row)

    def repin(self, case_id: int, definition_id: int) -> None:
        """Point a case at another definition version (inside the migrating command's transaction)."""
        self.connection.execute(update(_cases).where(_cases.c.id == case_id).values(definition_id=definition_id))

    def log(self, *, kind: str, key: str, action: str, version: int, actor: str, at: datetime,
            content_hash: str | None = None, from_version: int | None = None,
            detail: dict[str, Any] | None = None) -> None:
        """Append one entry to the definition log."""
        self.connection.execute(insert(_log).values(
            kind=kind, key=key, action=action, version=version, from_version=from_version,
            content_hash=content_hash, actor=actor, at=at, detail=detail or {}))

    def log_entries(self, kind: str, key: str) -> Sequence[dict[str, Any]]:
        """The definition log of one process, form or matter, oldest first."""
        rows = self.connection.execute(select(_log).where(_log.c.kind == kind, _log.c.key == key)
                                       .order_by(_log.c.id))
        return [dict(r._mapping) for r in rows]
