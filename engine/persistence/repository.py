"""Repositories: the SQL the handlers need, select() only, with row locks where state changes.

Hot paths write with one statement per table (multi-row INSERT ... RETURNING, UPDATE ... WHERE IN), so a
task completion stays within a handful of statements whatever the diagram does.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, undefer

from ..errors import NotFound
from .models import (
    ApiToken, Case, CaseCounter, CaseEvent, FormVersion, ProcessDefinition, TaskCandidate, TaskItem, Timer, User,
)


class DefinitionRepository:
    """Process definitions and form versions."""

    def __init__(self, session: Session):
        self.session = session

    def by_id(self, definition_id: int, *, with_source: bool = False) -> ProcessDefinition:
        """Return one definition; with its XML when ``with_source``."""
        stmt = select(ProcessDefinition).where(ProcessDefinition.id == definition_id)
        if with_source:
            stmt = stmt.options(undefer(ProcessDefinition.bpmn_xml), undefer(ProcessDefinition.resources))
        found = self.session.scalars(stmt).one_or_none()
        if found is None:
            raise NotFound(f"流程定义 {definition_id} 不存在")
        return found

    def latest(self, process_key: str, version: int | None = None) -> ProcessDefinition:
        """Return the newest version of ``process_key`` (or the given version)."""
        stmt = select(ProcessDefinition).where(ProcessDefinition.process_key == process_key)
        stmt = stmt.where(ProcessDefinition.version == version) if version else stmt
        found = self.session.scalars(stmt.order_by(ProcessDefinition.version.desc()).limit(1)).first()
        if found is None:
            suffix = f" 的第 {version} 版" if version else ""
            raise NotFound(f"流程 {process_key}{suffix} 尚未部署", details={"process_key": process_key})
        return found

    def by_hash(self, process_key: str, content_hash: str) -> ProcessDefinition | None:
        """Return the version of ``process_key`` with exactly this content, if deployed."""
        return self.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_key == process_key, ProcessDefinition.content_hash == content_hash)).first()

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


class CaseRepository:
    """Cases, their inbox rows, timers and audit events."""

    def __init__(self, session: Session):
        self.session = session

    def lock_by_task(self, task_id: int) -> tuple[TaskItem, Case]:
        """Load a task and lock it with its case row (FOR UPDATE on PostgreSQL), with the workflow state.

        Both rows are locked so that a command that waited for the lock re-reads both latest versions.
        """
        stmt = (select(TaskItem, Case).join(Case, Case.id == TaskItem.case_id).where(TaskItem.id == task_id)
                .options(undefer(Case.workflow_state)).with_for_update())
        row = self.session.execute(stmt).one_or_none()
        if row is None:
            raise NotFound("任务不存在或无权访问", details={"task_id": task_id})
        return row[0], row[1]

    def lock(self, case_id: int) -> Case:
        """Load and lock one case row with its workflow state."""
        stmt = (select(Case).where(Case.id == case_id).options(undefer(Case.workflow_state))
                .with_for_update())
        case = self.session.scalars(stmt).one_or_none()
        if case is None:
            raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
        return case

    def add(self, case: Case) -> None:
        """Insert a new case and assign its id."""
        self.session.add(case)
        self.session.flush()

    def next_number(self, day: str) -> int:
        """Atomically increment and return the per-day case counter."""
        dialect = self.session.get_bind().dialect.name
        ins = (postgresql.insert(CaseCounter) if dialect == "postgresql" else sqlite.insert(CaseCounter))
        stmt = ins.values(day=day, last=1).on_conflict_do_update(
            index_elements=[CaseCounter.day], set_={"last": CaseCounter.last + 1}).returning(CaseCounter.last)
        return int(self.session.execute(stmt).scalar_one())

    def insert_tasks(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert inbox rows in one statement; return their ids in the same order."""
        if not rows:
            return []
        stmt = insert(TaskItem).returning(TaskItem.id, sort_by_parameter_order=True)
        return list(self.session.scalars(stmt, rows))

    def insert_candidates(self, pairs: list[dict[str, Any]]) -> None:
        """Insert (task_id, group_key) rows in one statement."""
        if pairs:
            self.session.execute(insert(TaskCandidate), pairs)

    def close_tasks(self, case_id: int, spiff_ids: Iterable[str], *, state: str, at: datetime) -> None:
        """Mark the open tasks with these spiff ids as ``state`` (cancelled), in one statement."""
        ids = list(spiff_ids)
        if ids:
            self.session.execute(
                update(TaskItem).where(TaskItem.case_id == case_id, TaskItem.spiff_task_id.in_(ids),
                                       TaskItem.state == "open")
                .values(state=state, completed_at=at).execution_options(synchronize_session=False))

    def insert_timers(self, rows: list[dict[str, Any]]) -> None:
        """Insert waiting timers."""
        if rows:
            self.session.execute(insert(Timer), rows)

    def finish_timers(self, case_id: int, spiff_ids: Iterable[str], *, at: datetime) -> None:
        """Mark timers that no longer wait (fired or withdrawn with their activity)."""
        ids = list(spiff_ids)
        if ids:
            self.session.execute(
                update(Timer).where(Timer.case_id == case_id, Timer.spiff_task_id.in_(ids),
                                    Timer.state == "waiting")
                .values(state="done", fired_at=at).execution_options(synchronize_session=False))

    def append_events(self, rows: list[dict[str, Any]]) -> None:
        """Append audit events in one statement."""
        if rows:
            self.session.execute(insert(CaseEvent), rows)


class UserRepository:
    """Users and API tokens."""

    def __init__(self, session: Session):
        self.session = session

    def by_username(self, username: str) -> User | None:
        """Return the user with this login name."""
        return self.session.scalars(select(User).where(User.username == username)).first()

    def by_token_hash(self, token_hash: str, now: datetime) -> User | None:
        """Return the active user owning an unrevoked, unexpired token with this hash."""
        stmt = (select(User).join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), User.active.is_(True))
                .where((ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now)))
        return self.session.scalars(stmt).first()

    def add(self, row: Any) -> None:
        """Stage a new user or token."""
        self.session.add(row)
        self.session.flush()

    def list(self) -> Sequence[User]:
        """Return every user by name."""
        return self.session.scalars(select(User).order_by(User.username)).all()
