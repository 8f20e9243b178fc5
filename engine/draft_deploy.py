"""Deploying a draft: lint it, deploy it through the ordinary deploy path, remove it; one transaction.

The draft's diagram keeps the file name of the version it replaces, its forms become ``<key>.form`` files,
and a 一件事 process keeps the bundle mapping of its latest version (rebuilt as a ``bundle.yaml``, so the
mapping is checked again against the new diagram). A draft is deployed only when lint finds no error, only
by a designer, and only while its base is still the latest version (else ``DRAFT_STALE``, unless forced);
the process key stays locked from that check to the commit, so two drafts of one version cannot both pass it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import select

from .commands import DeployDraft
from .definitions import Finding
from .deploy_versions import Deployed, lock_keys
from .drafts import lock_draft
from .errors import Conflict, DefinitionRejected, Forbidden, InvalidInput
from .handlers import Services
from .persistence.models import ProcessDefinition
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

DEPLOYER_ROLE = "designer"


@dataclass(frozen=True)
class DraftDeployed:
    """What deploying a draft did.

    Attributes:
        status: ``created`` (a new version) or ``unchanged`` (the content equals version ``version``).
        previous_version: the latest version before this deploy, None for a new process.
        lines: the deploy report (forms, processes).
        warnings: lint's warnings, which do not stop a deploy.
    """

    process_key: str
    version: int
    status: str
    previous_version: int | None
    lines: tuple[Deployed, ...]
    warnings: tuple[Finding, ...]

    @property
    def message(self) -> str:
        """Tell the designer in Chinese what happened."""
        if self.status == "created":
            return f"已部署为第 {self.version} 版"
        if self.version == self.previous_version:
            return "与当前版本相同，未产生新版本"
        return f"与第 {self.version} 版相同，未产生新版本；当前版本仍为第 {self.previous_version} 版"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape the API answers with."""
        return {"process_key": self.process_key, "version": self.version, "status": self.status,
                "previous_version": self.previous_version, "message": self.message,
                "report": [line.to_dict() for line in self.lines],
                "warnings": [f.to_dict() for f in self.warnings]}


def deploy_draft(cmd: DeployDraft, svc: Services) -> DraftDeployed:
    """Lint and deploy a draft as the next version of its process, then delete the draft."""
    if DEPLOYER_ROLE not in cmd.actor.roles:
        raise Forbidden("只有流程设计人员（designer）可以部署流程", code="DEPLOY_FORBIDDEN")
    with svc.uow() as uow:
        draft = lock_draft(uow, cmd.draft_id)
        if cmd.revision is not None and draft.revision != cmd.revision:
            raise Conflict(f"草稿已由 {draft.updated_by} 再次保存，请重新打开后再部署", code="DRAFT_CHANGED",
                           details={"revision": draft.revision})
        # Held to commit: another draft of this process deployed meanwhile is then the latest version here.
        lock_keys(uow, [("process", draft.process_key)])
        latest = uow.session.scalars(select(ProcessDefinition)
                                     .where(ProcessDefinition.process_key == draft.process_key)
                                     .order_by(ProcessDefinition.version.desc()).limit(1)).first()
        if latest is not None and latest.content_hash != draft.base_hash and not cmd.force:
            who = latest.deployed_by or "他人"
            # A blank draft may be newer than the version deployed: 「此后」 would say the wrong order.
            stale = (f"草稿基于第 {draft.base_version} 版，此后 {who} 已部署第 {latest.version} 版"
                     if draft.base_version else f"草稿基于空白流程，而该流程已有 {who} 部署的第 {latest.version} 版")
            raise Conflict(f"{stale}；请打开最新版本核对修改，或确认以本草稿覆盖", code="DRAFT_STALE",
                           details={"base_version": draft.base_version, "latest_version": latest.version})
        bpmn_files, form_files = _files(uow, draft, latest)
        findings = svc.catalog.lint(uow, bpmn_files, form_files)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise DefinitionRejected(f"检查发现 {len(errors)} 个错误，草稿未部署：{errors[0].message}",
                                     details={"findings": [f.to_dict() for f in findings]})
        report = svc.catalog.deploy(uow, bpmn_files, form_files, actor=cmd.actor.username, now=svc.clock.now())
        line = next((r for r in report if r.kind == "process" and r.key == draft.process_key), None)
        if line is None:
            keys = "、".join(r.key for r in report if r.kind == "process") or "（无）"
            raise InvalidInput(f"草稿属于流程 {draft.process_key}，但图中的可执行流程是 {keys}；"
                               f"请把流程 id 改回 {draft.process_key}", code="DRAFT_KEY_MISMATCH")
        uow.session.delete(draft)
        uow.commit()
    return DraftDeployed(draft.process_key, line.version, line.status, latest.version if latest else None,
                         tuple(report), tuple(f for f in findings if f.severity != "error"))


def _files(uow: SqlAlchemyUnitOfWork, draft: Any, latest: ProcessDefinition | None,
           ) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """Return the deploy's (BPMN and bundle files, form files) for the draft."""
    name = (latest.source_name if latest is not None else None) or f"{draft.process_key}/main.bpmn"
    bpmn = [(name, draft.bpmn_xml.encode("utf-8"))]
    bundle = (latest.meta or {}).get("bundle") if latest is not None else None
    if bundle is not None:
        bpmn.append((f"{name.rsplit('/', 1)[0] if '/' in name else draft.process_key}/bundle.yaml",
                     bundle_yaml(bundle)))
    forms = [(f"{key}.form", json.dumps(form, ensure_ascii=False, indent=2).encode("utf-8"))
             for key, form in sorted(draft.forms.items())]
    return bpmn, forms


def bundle_yaml(doc: dict[str, Any]) -> bytes:
    """Rebuild the ``bundle.yaml`` a stored bundle mapping came from (without what deploy computed)."""
    matters = [{key: m[key] for key in ("name", "subprocess", "form", "fields", "materials")}
               for m in doc["matters"]]
    source = {"bundle": {"code": doc["code"], "name": doc["name"], "process": doc["process"], "form": doc["form"],
                         "materials": [dict(m) for m in doc["materials"]], "matters": matters}}
    return yaml.safe_dump(source, allow_unicode=True, sort_keys=False).encode("utf-8")
