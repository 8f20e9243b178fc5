"""Drafts: a designer's unfinished edit of a process and of the forms it uses, saved without deploying.

A draft holds the diagram's XML and the form-js forms it changes, the deployed version it started from
(``base_version``/``base_hash``, None for a new process) and a ``revision`` bumped on every save: a save
that names an older revision is refused (:class:`~engine.errors.Conflict`), so two designers never
overwrite each other silently. Saving checks only that the diagram is safe, well-formed BPMN XML and that
each form is a JSON object with its own key; everything else is lint's job, and nothing here runs or
deploys. Deploying a draft is the :class:`~engine.commands.DeployDraft` command (:mod:`engine.draft_deploy`).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from .catalog import PROCESS_KEY
from .clock import Clock
from .errors import Conflict, InvalidInput, NotFound
from .forms import _FORM_ID as FORM_ID
from .persistence.models import FormVersion, ProcessDefinition, ProcessDraft
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .spiff.xml_loader import parse_xml
from .storable import refuse_unstorable

MAX_FORMS = 100
"""Most forms one draft may carry."""
BLANK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_{key}" targetNamespace="http://tongban.cq.gov.cn/processes">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start" name="收件"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_{key}">
    <bpmndi:BPMNPlane id="Plane_{key}" bpmnElement="{key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="152" y="182" width="36" height="36"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@dataclass(frozen=True)
class DraftInfo:
    """A draft as listed: everything but its content.

    Attributes:
        base_version: the deployed version the draft was opened from, None for a new process.
        base_hash: that version's content hash.
        revision: bumped on every save; an update must name the current one.
        form_keys: the forms the draft carries (edited forms; the others stay as deployed).
    """

    id: int
    process_key: str
    revision: int
    base_version: int | None
    base_hash: str | None
    author: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    form_keys: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict (instants stay datetimes; the API schema formats them)."""
        return {"id": self.id, "process_key": self.process_key, "revision": self.revision,
                "base_version": self.base_version, "base_hash": self.base_hash, "author": self.author,
                "created_at": self.created_at, "updated_by": self.updated_by, "updated_at": self.updated_at,
                "form_keys": list(self.form_keys)}


@dataclass(frozen=True)
class Draft:
    """A draft with its content: the BPMN XML and its forms by key."""

    info: DraftInfo
    bpmn: str
    forms: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the listing fields plus ``bpmn`` and ``forms``."""
        return {**self.info.to_dict(), "bpmn": self.bpmn, "forms": self.forms}


class Drafts:
    """Create, update, list, read and delete drafts.

    Args:
        uow: unit-of-work factory.
        clock: the engine clock (``updated_at``).
        max_bpmn_bytes: largest diagram accepted, as for a deploy.
        max_form_bytes: largest form accepted, as for a deploy.
    """

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock, *, max_bpmn_bytes: int,
                 max_form_bytes: int):
        self.uow = uow
        self.clock = clock
        self.max_bpmn_bytes = max_bpmn_bytes
        self.max_form_bytes = max_form_bytes

    def create(self, *, process_key: str, bpmn: str, actor: str, forms: Mapping[str, Any] | None = None,
               base_version: int | None = None) -> DraftInfo:
        """Save a new draft of ``process_key``, opened from deployed ``base_version`` (None: a new process).

        Raises:
            InvalidInput: a bad key, diagram or form, text no database stores (``INVALID_INPUT`` naming the
                field, e.g. ``forms.f1.components.0.label``), or a base version that is not deployed.
        """
        refuse_unstorable(process_key=process_key, bpmn=bpmn, forms=forms, actor=actor)
        _check_key(process_key)
        self._check_bpmn(bpmn)
        checked = self._check_forms(forms or {})
        now = self.clock.now()
        with self.uow() as uow:
            base_hash = None
            if base_version is not None:
                base_hash = uow.session.scalar(select(ProcessDefinition.content_hash).where(
                    ProcessDefinition.process_key == process_key, ProcessDefinition.version == base_version))
                if base_hash is None:
                    raise InvalidInput(f"流程 {process_key} 没有第 {base_version} 版，草稿无法以它为基础",
                                       details={"base_version": base_version})
            row = ProcessDraft(process_key=process_key, bpmn_xml=bpmn, forms=checked, base_hash=base_hash,
                               base_version=base_version, revision=1, author=actor, created_at=now,
                               updated_by=actor, updated_at=now)
            uow.session.add(row)
            uow.commit()
            return _info(row)

    def update(self, draft_id: int, *, revision: int, actor: str, bpmn: str | None = None,
               forms: Mapping[str, Any] | None = None) -> DraftInfo:
        """Save changes to a draft: a new diagram, and/or forms merged by key (a None value removes one).

        Raises:
            NotFound: no such draft.
            Conflict: ``DRAFT_CHANGED``, someone saved the draft after ``revision``.
            InvalidInput: a bad diagram or form, or text no database stores.
        """
        refuse_unstorable(bpmn=bpmn, forms=forms, actor=actor)
        if bpmn is not None:
            self._check_bpmn(bpmn)
        with self.uow() as uow:
            row = _locked(uow, draft_id)
            if row.revision != revision:
                raise Conflict(f"草稿已由 {row.updated_by} 于其后保存（第 {row.revision} 次保存），"
                               "请重新打开草稿后再修改", code="DRAFT_CHANGED",
                               details={"revision": row.revision, "updated_by": row.updated_by})
            if bpmn is not None:
                row.bpmn_xml = bpmn
            if forms:
                merged = dict(row.forms)
                merged.update(forms)
                row.forms = self._check_forms({k: v for k, v in merged.items() if v is not None})
            row.revision += 1
            row.updated_by, row.updated_at = actor, self.clock.now()
            uow.commit()
            return _info(row)

    def list(self, process_key: str | None = None) -> list[DraftInfo]:
        """Return drafts (of one process, or all), the latest saved first.

        Raises:
            InvalidInput: ``process_key`` holds text no database stores.
        """
        refuse_unstorable(process_key=process_key)
        stmt = select(ProcessDraft).options(undefer(ProcessDraft.forms)).order_by(
            ProcessDraft.updated_at.desc(), ProcessDraft.id.desc())
        if process_key is not None:
            stmt = stmt.where(ProcessDraft.process_key == process_key)
        with self.uow() as uow:
            return [_info(row) for row in uow.session.scalars(stmt)]

    def get(self, draft_id: int) -> Draft:
        """Return a draft with its diagram and forms.

        Raises:
            NotFound: no such draft.
        """
        with self.uow() as uow:
            row = _row(uow, draft_id)
            return Draft(_info(row), row.bpmn_xml, dict(row.forms))

    def delete(self, draft_id: int) -> None:
        """Delete a draft (deployed versions are never touched).

        Raises:
            NotFound: no such draft.
        """
        with self.uow() as uow:
            uow.session.delete(_locked(uow, draft_id))
            uow.commit()

    def deployed_source(self, process_key: str, version: int | None = None) -> dict[str, Any]:
        """Return a deployed version's ``{process_key, version, name, content_hash, bpmn}`` (latest by default).

        Raises:
            NotFound: the process (or that version of it) is not deployed.
        """
        stmt = select(ProcessDefinition).options(undefer(ProcessDefinition.bpmn_xml)).where(
            ProcessDefinition.process_key == process_key)
        stmt = stmt.where(ProcessDefinition.version == version) if version is not None else stmt
        with self.uow() as uow:
            row = uow.session.scalars(stmt.order_by(ProcessDefinition.version.desc()).limit(1)).first()
            if row is None:
                suffix = f"的第 {version} 版" if version is not None else ""
                raise NotFound(f"流程 {process_key}{suffix}尚未部署", details={"process_key": process_key})
            return {"process_key": row.process_key, "version": row.version, "name": row.name,
                    "content_hash": row.content_hash, "bpmn": row.bpmn_xml}

    def deployed_forms(self) -> dict[str, int]:
        """Return the latest deployed version of every form, by key."""
        stmt = select(FormVersion.form_key, func.max(FormVersion.version)).group_by(FormVersion.form_key)
        with self.uow() as uow:
            return {key: version for key, version in uow.session.execute(stmt.order_by(FormVersion.form_key))}

    def deployed_form(self, form_key: str) -> dict[str, Any] | None:
        """Return the form-js JSON of the latest deployed version of ``form_key``, or None."""
        with self.uow() as uow:
            row = uow.definitions.form(form_key)
            return dict(row.source) if row is not None else None

    def blank(self, process_key: str, name: str | None = None) -> str:
        """Return the diagram a new process starts from: an executable process with one start event.

        Raises:
            InvalidInput: the key is not a valid process key.
        """
        _check_key(process_key)
        return BLANK.format(key=process_key, name=xml_escape(name or process_key, {'"': "&quot;"}))

    def blank_form(self, form_key: str) -> dict[str, Any]:
        """Return the form-js JSON a new form starts from.

        Raises:
            InvalidInput: the key is not a valid form key.
        """
        self._check_forms({form_key: {"id": form_key}})
        return {"type": "default", "id": form_key, "components": [], "schemaVersion": 16}

    def _check_bpmn(self, bpmn: Any) -> None:
        if not isinstance(bpmn, str) or not bpmn.strip():
            raise InvalidInput("草稿缺少流程图（BPMN XML）")
        # Same hardened loader as a deploy: a hostile document is refused before it is stored or served.
        parse_xml(bpmn.encode("utf-8"), name="草稿", max_bytes=self.max_bpmn_bytes)

    def _check_forms(self, forms: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(forms, Mapping):
            raise InvalidInput("forms 应为 {表单标识: 表单 JSON} 对象")
        if len(forms) > MAX_FORMS:
            raise InvalidInput(f"一个草稿最多包含 {MAX_FORMS} 个表单")
        for key, form in forms.items():
            if not isinstance(key, str) or not FORM_ID.match(key):
                raise InvalidInput(f"表单标识 {key!r} 无效：须以字母或下划线开头，仅含字母、数字、_ . -",
                                   details={"form": key})
            if not isinstance(form, Mapping) or form.get("id") != key:
                raise InvalidInput(f"表单 {key} 应为 form-js JSON 对象，且其 id 为 {key}", details={"form": key})
            size = len(json.dumps(form, ensure_ascii=False).encode("utf-8"))
            if size > self.max_form_bytes:
                raise InvalidInput(f"表单 {key} 大小 {size} 字节，超过上限 {self.max_form_bytes} 字节",
                                   details={"form": key})
        return {key: dict(forms[key]) for key in sorted(forms)}


def _check_key(process_key: Any) -> None:
    if not isinstance(process_key, str) or not PROCESS_KEY.match(process_key):
        raise InvalidInput(f"流程标识 {process_key!r} 无效：须以字母或下划线开头，仅含字母、数字、_ . -",
                           details={"process_key": process_key})


def _row(uow: SqlAlchemyUnitOfWork, draft_id: int) -> ProcessDraft:
    row = uow.session.scalars(select(ProcessDraft).options(undefer(ProcessDraft.bpmn_xml),
                                                           undefer(ProcessDraft.forms))
                              .where(ProcessDraft.id == draft_id)).first()
    if row is None:
        raise NotFound(f"草稿 {draft_id} 不存在（可能已部署或已删除）", details={"draft_id": draft_id})
    return row


def _locked(uow: SqlAlchemyUnitOfWork, draft_id: int) -> ProcessDraft:
    row = uow.session.scalars(select(ProcessDraft).options(undefer(ProcessDraft.forms))
                              .where(ProcessDraft.id == draft_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"草稿 {draft_id} 不存在（可能已部署或已删除）", details={"draft_id": draft_id})
    return row


def lock_draft(uow: SqlAlchemyUnitOfWork, draft_id: int) -> ProcessDraft:
    """Return the draft row locked for this unit of work, with its content (for deploying it)."""
    _locked(uow, draft_id)
    return _row(uow, draft_id)


def _info(row: ProcessDraft) -> DraftInfo:
    return DraftInfo(row.id, row.process_key, row.revision, row.base_version, row.base_hash, row.author,
                     row.created_at, row.updated_by, row.updated_at, tuple(sorted(row.forms or {})))
