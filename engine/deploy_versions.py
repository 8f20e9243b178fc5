"""Writing what a deploy checked: version numbering, the report line of each key, and the locks around both.

Kept apart from :mod:`engine.deployment`, which reads and checks the files, because this is the part that
must hold under concurrent deploys. Each key (a process, form or matter) is versioned on its own: content
already deployed keeps its version (``unchanged``, even when it is an older one's), new content becomes the
next version (``created``). :func:`lock_keys` makes two deploys of one key take turns, so the second numbers
its version after the first's; :mod:`engine.draft_deploy` takes the same lock for a draft's process key.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .catalog import Matter
from .definitions import definition_content_hash
from .errors import Conflict
from .form_definition import FormDefinition
from .persistence.models import FormVersion, MatterVersion, ProcessDefinition
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .spiff.parser import ParsedProcess


@dataclass(frozen=True)
class Deployed:
    """One line of a deploy report."""

    kind: str
    key: str
    version: int
    status: str
    content_hash: str
    latest_version: int | None = None
    """The newest version of ``key`` after the deploy; above ``version`` when the content is an older one's."""

    @property
    def message(self) -> str:
        """Tell the designer in Chinese what the deploy did, and which version new cases use."""
        if self.status == "created":
            return f"已部署为第 {self.version} 版"
        latest = self.latest_version or self.version
        if latest == self.version:
            return f"与当前的第 {self.version} 版相同，未产生新版本"
        uses = {"process": "新办件仍按该版启动", "form": "之后部署的流程仍引用该版",
                "matter": "新收件仍按该版"}.get(self.kind, "之后仍使用该版")
        return (f"与旧的第 {self.version} 版相同，未产生新版本；当前版本仍为第 {latest} 版，{uses}"
                f"（重新部署旧内容不会回退版本；如需回退，请在旧内容上修改后部署为新版本）")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of this line."""
        return {"kind": self.kind, "key": self.key, "version": self.version, "status": self.status,
                "content_hash": self.content_hash, "latest_version": self.latest_version or self.version,
                "message": self.message}


def deploy_matter(uow: SqlAlchemyUnitOfWork, matter: Matter, actor: str, now: datetime) -> Deployed:
    """Store a catalog's matter as its next version, unless this content is deployed already."""
    existing = uow.definitions.matter(matter.code, matter.content_hash)
    if existing is not None:
        return Deployed("matter", matter.code, existing.version, "unchanged", matter.content_hash,
                        uow.definitions.next_version(MatterVersion, MatterVersion.code, matter.code) - 1)
    version = uow.definitions.next_version(MatterVersion, MatterVersion.code, matter.code)
    uow.definitions.add(MatterVersion(code=matter.code, version=version, content_hash=matter.content_hash,
                                      name=matter.name, process_key=matter.process_key, doc=dict(matter.doc),
                                      source_name=matter.source_name, deployed_at=now, deployed_by=actor))
    uow.flush()
    return Deployed("matter", matter.code, version, "created", matter.content_hash)


def deploy_form(uow: SqlAlchemyUnitOfWork, form: FormDefinition, actor: str, now: datetime) -> Deployed:
    """Store a form as its next version, unless this content is deployed already."""
    existing = uow.definitions.form(form.key, form.content_hash)
    if existing is not None:
        return Deployed("form", form.key, existing.version, "unchanged", form.content_hash,
                        uow.definitions.next_version(FormVersion, FormVersion.form_key, form.key) - 1)
    version = uow.definitions.next_version(FormVersion, FormVersion.form_key, form.key)
    uow.definitions.add(FormVersion(form_key=form.key, version=version, content_hash=form.content_hash,
                                    source=form.source, deployed_at=now, deployed_by=actor))
    uow.flush()
    return Deployed("form", form.key, version, "created", form.content_hash)


def deploy_process(uow: SqlAlchemyUnitOfWork, process: ParsedProcess, form_refs: Mapping[str, str],
                   actor: str, now: datetime, bundle: dict[str, Any] | None = None) -> Deployed:
    """Store a process as its next version, unless this content (with its pinned forms and bundle) is deployed."""
    # A bundle mapping is part of the definition: changing it is a new version, as a form edit is.
    content_hash = definition_content_hash(process.bpmn_xml, process.resources, form_refs, bundle)
    existing = uow.definitions.by_hash(process.process_key, content_hash)
    if existing is not None:
        latest = uow.definitions.next_version(ProcessDefinition, ProcessDefinition.process_key,
                                              process.process_key) - 1
        return Deployed("process", process.process_key, existing.version, "unchanged", content_hash, latest)
    version = uow.definitions.next_version(ProcessDefinition, ProcessDefinition.process_key,
                                           process.process_key)
    meta = {"user_tasks": {k: v.to_dict() for k, v in sorted(process.user_tasks.items())},
            "clocks": [c.to_dict() for c in process.clocks]}
    if process.message_starts:
        meta["message_starts"] = list(process.message_starts)
    if bundle is not None:
        meta["bundle"] = bundle
    uow.definitions.add(ProcessDefinition(
        process_key=process.process_key, version=version, name=process.name, content_hash=content_hash,
        bpmn_xml=process.bpmn_xml, resources=process.resources, form_refs=form_refs, meta=meta,
        source_name=process.source_name, deployed_at=now, deployed_by=actor))
    uow.flush()
    return Deployed("process", process.process_key, version, "created", content_hash)


_LOCK_ORDER = {"process": 0, "form": 1, "matter": 2}
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:lock)")


def lock_keys(uow: SqlAlchemyUnitOfWork, keys: Iterable[tuple[str, str]]) -> None:
    """Hold each ``(kind, key)`` a deploy writes (``process``, ``form``, ``matter``) until its transaction ends.

    Two deploys of one key then take turns, and the second reads the first's version once committed: it
    numbers its own version after it, or finds its content deployed. On PostgreSQL this is a transaction
    advisory lock on a hash of kind and key (it covers a key no row exists for yet), taken processes first,
    then forms, then matters, each by key, so deploys never wait for each other in a circle; SQLite's write
    transaction (``BEGIN IMMEDIATE``) already serializes deploys. A deploy that waited too long, or that the
    database ended to break a circle, is refused with ``DEPLOY_BUSY``.
    """
    connection = uow.connection
    if connection is None or connection.dialect.name != "postgresql":
        return
    for kind, key in sorted(set(keys), key=lambda item: (_LOCK_ORDER[item[0]], item[1])):
        digest = hashlib.sha256(f"tongban.deploy\0{kind}\0{key}".encode()).digest()
        try:
            connection.execute(_ADVISORY_LOCK, {"lock": int.from_bytes(digest[:8], "big", signed=True)})
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in ("40P01", "55P03"):     # deadlock, lock timeout
                raise
            raise Conflict("另一次部署正在写入同一流程、表单或事项，请稍后重试", code="DEPLOY_BUSY",
                           details={"kind": kind, "key": key}) from None
