"""The case and inbox rows as commands see them, and the columns they are read from.

Kept apart from :mod:`.case_repository` so that the handlers, which pass records around, and the other
repositories that read a case row (:mod:`.version_repository`) need not import the hot-path statements.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .models import Case, TaskItem

cases = Case.__table__
tasks = TaskItem.__table__


@dataclass
class CaseRecord:
    """The case row as a command sees it: read under lock, changed in memory, written back once."""

    id: int
    case_no: str
    definition_id: int
    process_key: str
    status: str
    owning_district: str | None
    receiving_district: str | None
    event_seq: int
    chain_head: str
    version: int
    workflow_state: str
    ended_at: datetime | None
    updated_at: datetime
    serializer_version: str
    clocks: dict[str, Any] | None = None
    legal_due_at: datetime | None = None
    legal_yellow_at: datetime | None = None
    committed_due_at: datetime | None = None
    committed_yellow_at: datetime | None = None
    deadline_provisional: bool | None = None
    stage: str | None = None
    deciding_district: str | None = None
    channel: str | None = None
    accepted_at: datetime | None = None
    corrections: int = 0
    tolerance: bool = False
    visits: int = 0
    department: str | None = None
    calendar_generation: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)

    def set(self, **values: Any) -> None:
        """Change columns (applied to this record now and written by ``CaseRepository.save``)."""
        for key, value in values.items():
            setattr(self, key, value)
        self.changes.update(values)


@dataclass(frozen=True)
class TaskRecord:
    """An inbox row as read under lock."""

    id: int
    case_id: int
    spiff_task_id: str
    element_id: str
    form_key: str | None
    candidate_groups: list[str]
    state: str
    assignee: str | None
    activation: str | None = None


# The columns, in field order, that the records above are built from (``CaseRecord(*row)``).
CASE_RECORD_COLUMNS = [cases.c[name] for name in (
    "id", "case_no", "definition_id", "process_key", "status", "owning_district", "receiving_district",
    "event_seq", "chain_head", "version", "workflow_state", "ended_at", "updated_at", "serializer_version",
    "clocks", "legal_due_at", "legal_yellow_at", "committed_due_at", "committed_yellow_at",
    "deadline_provisional", "stage", "deciding_district", "channel", "accepted_at", "corrections", "tolerance",
    "visits", "department", "calendar_generation")]
TASK_RECORD_COLUMNS = [tasks.c[name] for name in (
    "id", "case_id", "spiff_task_id", "element_id", "form_key", "candidate_groups", "state", "assignee",
    "activation")]
