"""What the task and case pages show besides the inbox row: the diagram, the task's form and the case's data.

Every read first asks :class:`~engine.queries.Queries` whether the actor may see the task or case, so a
forbidden one stays a :class:`~engine.errors.NotFound` here too.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from .bundle import PHONE_FIELD
from .errors import NotFound
from .persistence.models import Case, CaseEvent, FormVersion, ProcessDefinition
from .queries import Queries


class CaseDocuments:
    """Read the BPMN diagram, pinned forms and initial data of cases an actor may see.

    Args:
        sessions: read-only session factory.
        queries: the visibility rules (task and case reads raise NotFound for forbidden ids).
    """

    def __init__(self, sessions: sessionmaker[Session], queries: Queries):
        self.sessions = sessions
        self.queries = queries

    def diagram(self, actor: Any, case_id: int) -> str:
        """Return the BPMN XML of the definition version the case is pinned to."""
        self.queries.case(actor, case_id)
        stmt = (select(ProcessDefinition.bpmn_xml)
                .join(Case, Case.definition_id == ProcessDefinition.id).where(Case.id == case_id))
        with self.sessions() as session:
            return session.scalar(stmt) or ""

    def task_form(self, actor: Any, task_id: int) -> dict[str, Any] | None:
        """Return the form-js JSON pinned for the task by its case's definition, or None without a form."""
        task = self.queries.task(actor, task_id)
        if not task["form_key"]:
            return None
        with self.sessions() as session:
            refs = session.scalar(select(ProcessDefinition.form_refs)
                                  .join(Case, Case.definition_id == ProcessDefinition.id)
                                  .where(Case.id == task["case_id"])) or {}
            content_hash = refs.get(task["form_key"])
            if content_hash is None:
                return None
            return session.scalar(select(FormVersion.source).where(FormVersion.form_key == task["form_key"],
                                                                   FormVersion.content_hash == content_hash))

    def application_form(self, process_key: str) -> dict[str, Any] | None:
        """Return the 一表申报 form of a 一件事 process's newest version; None for a single-matter process.

        The catalog is public to whoever may apply, so this asks no visibility question. The answer is
        ``{"source": form-js JSON, "filled": [field, ...]}``: ``filled`` are the fields intake fills in itself
        (each shared material's from the materials checklist, ``contact_phone`` from the application's phone,
        see :func:`engine.bundle.application_form`), which an application page does not ask for.
        """
        with self.sessions() as session:
            meta = session.scalar(select(ProcessDefinition.meta).where(ProcessDefinition.process_key == process_key)
                                  .order_by(ProcessDefinition.version.desc()).limit(1))
            bundle = (meta or {}).get("bundle")
            if not bundle:
                return None
            source = session.scalar(select(FormVersion.source).where(FormVersion.form_key == bundle["form"],
                                                                     FormVersion.content_hash == bundle["form_hash"]))
        if not isinstance(source, dict):
            return None
        return {"source": source, "filled": [m["field"] for m in bundle.get("materials", ())] + [PHONE_FIELD]}

    def pinned_forms(self, actor: Any, case_id: int) -> dict[str, dict[str, Any]]:
        """Return every form-js JSON the case's definition version pins, by form key (sorted by key).

        The pages read labels and option labels from them to show the case's submitted data in words.
        """
        with self.sessions() as session:
            case = session.get(Case, case_id)
            if case is None or not Queries.sees_case(session, actor, case):
                raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
            refs = session.scalar(select(ProcessDefinition.form_refs)
                                  .where(ProcessDefinition.id == case.definition_id)) or {}
            if not refs:
                return {}
            rows = session.execute(select(FormVersion.form_key, FormVersion.source).where(
                tuple_(FormVersion.form_key, FormVersion.content_hash).in_(sorted(refs.items())))).all()
        return {row.form_key: row.source for row in sorted(rows, key=lambda r: r.form_key)
                if isinstance(row.source, dict)}

    def started_data(self, actor: Any, case_id: int) -> dict[str, Any]:
        """Return the data the case was started with (applicant, materials ...), from its first event."""
        self.queries.case(actor, case_id)
        stmt = select(CaseEvent.payload).where(CaseEvent.case_id == case_id,
                                               CaseEvent.event_type == "CaseStarted").order_by(CaseEvent.seq)
        with self.sessions() as session:
            payload = session.scalars(stmt.limit(1)).first() or {}
        data = payload.get("data")
        return data if isinstance(data, dict) else {}
