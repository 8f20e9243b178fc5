"""Process definitions, form versions and matter versions as deploys and case starts read them."""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, undefer

from ..errors import NotFound
from .models import FormVersion, MatterVersion, ProcessDefinition

# Built once, like the case hot path's statements: every case start resolves its definition with one of them.
_DEFINITIONS = ProcessDefinition.__table__
_LATEST_DEFINITION = (select(_DEFINITIONS.c.id).where(_DEFINITIONS.c.process_key == bindparam("key"))
                      .order_by(_DEFINITIONS.c.version.desc()).limit(1))
_DEFINITION_VERSION = select(_DEFINITIONS.c.id).where(_DEFINITIONS.c.process_key == bindparam("key"),
                                                      _DEFINITIONS.c.version == bindparam("version"))


class DefinitionRepository:
    """Process definitions and form versions (ORM, off the hot path)."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def session(self) -> Session:
        """The unit of work's ORM session."""
        return self.uow.session

    def by_id(self, definition_id: int, *, with_source: bool = False) -> ProcessDefinition:
        """Return one definition; with its XML when ``with_source``."""
        stmt = select(ProcessDefinition).where(ProcessDefinition.id == definition_id)
        if with_source:
            stmt = stmt.options(undefer(ProcessDefinition.bpmn_xml), undefer(ProcessDefinition.resources))
        found = self.session.scalars(stmt).one_or_none()
        if found is None:
            raise NotFound(f"流程定义 {definition_id} 不存在")
        return found

    def latest_id(self, process_key: str, version: int | None = None) -> int:
        """Return the id of the newest version of ``process_key`` (or of the given version)."""
        if version:
            found = self.uow.connection.execute(_DEFINITION_VERSION, {"key": process_key, "version": version}).scalar()
        else:
            found = self.uow.connection.execute(_LATEST_DEFINITION, {"key": process_key}).scalar()
        if found is None:
            what = f"流程 {process_key} 的第 {version} 版" if version else f"流程 {process_key} "
            raise NotFound(f"{what}尚未部署", details={"process_key": process_key})
        return int(found)

    def by_hash(self, process_key: str, content_hash: str) -> ProcessDefinition | None:
        """Return the version of ``process_key`` with exactly this content, if deployed."""
        return self.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_key == process_key, ProcessDefinition.content_hash == content_hash)).first()

    def matter(self, code: str, content_hash: str | None = None) -> MatterVersion | None:
        """Return the newest version of matter ``code`` (or the version with this content)."""
        stmt = select(MatterVersion).where(MatterVersion.code == code)
        if content_hash is not None:
            stmt = stmt.where(MatterVersion.content_hash == content_hash)
        return self.session.scalars(stmt.order_by(MatterVersion.version.desc()).limit(1)).first()

    def process_exists(self, process_key: str) -> bool:
        """Whether any version of ``process_key`` is deployed."""
        table = ProcessDefinition.__table__
        stmt = select(table.c.id).where(table.c.process_key == process_key).limit(1)
        return self.uow.connection.execute(stmt).scalar() is not None

    def next_version(self, model: Any, key_column: Any, key: str) -> int:
        """Return the version number the next deploy of ``key`` gets."""
        current = self.session.scalar(select(func.max(model.version)).where(key_column == key))
        return (current or 0) + 1

    def list(self, process_key: str | None = None) -> Sequence[ProcessDefinition]:
        """Return definitions, newest first, optionally for one key."""
        stmt = select(ProcessDefinition).order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())
        if process_key:
            stmt = stmt.where(ProcessDefinition.process_key == process_key)
        return self.session.scalars(stmt).all()

    def form(self, form_key: str, content_hash: str | None = None) -> FormVersion | None:
        """Return a form version by hash, or the latest version of ``form_key``."""
        stmt = select(FormVersion).options(undefer(FormVersion.source)).where(FormVersion.form_key == form_key)
        if content_hash:
            stmt = stmt.where(FormVersion.content_hash == content_hash)
        return self.session.scalars(stmt.order_by(FormVersion.version.desc()).limit(1)).first()

    def add(self, row: Any) -> None:
        """Stage a new definition or form version."""
        self.session.add(row)
