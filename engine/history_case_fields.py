"""A history file's case row held against the database's: the fields no hash covers.

The hash chain covers the events, and through them the 办件编号 hashed into each; the file's ``event_seq`` and
``chain_head`` are checked against its own chain (:func:`engine.history_file.verify_history`) and the head
against the database's (:mod:`engine.history_anchor`). Every other field of the file's ``case`` row (the
districts, the status, the start and the end, the process and its version, the clocks) is covered by nothing:
an edit there needs no hash computed again. So once the file's events agree with the database's, each field
is compared with the database's row, and each that differs is a :class:`FieldProblem` naming the field (in
Chinese and by its key), the file's value and the database's, each bounded and escaped
(:mod:`engine.file_echo`).

A file equal to the database's chain is compared in every field it carries. A file exported before the case
went on legitimately differs where later events changed the row (status, end, clocks and deadlines, the
definition a migration moved the case to), so only :data:`FIXED_AT_START` is compared then.

The process definition is compared by what it is rather than by its database id: the file's ``definition_id``
names a row of its ``seed.definitions``, whose version and content hash are held against those of the
database's definition (``definition_version``, ``definition_hash``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from sqlalchemy import select

from .audit import canonical_json
from .case_history import CaseHistory
from .file_echo import clipped, shown
from .persistence.models import Case, ProcessDefinition
from .replay_case_row import NAMES, ROW_STATE_COLUMNS

FIELDS: dict[str, str] = {
    "id": "办件 id", "process_key": "流程", "definition_version": "流程定义版本", "definition_hash": "流程定义内容哈希",
    "business_key": "业务编号", "title": "标题", "status": NAMES["status"], "owning_district": "业务属地",
    "receiving_district": "收件地", "deciding_district": "决定地（就地批办）", "started_by": "启动人",
    "started_at": "启动时间", "ended_at": NAMES["ended_at"], "matter_code": "事项编码", "matter_version": "事项版本",
    **{column: NAMES[column] for column in ROW_STATE_COLUMNS},
}
"""Each compared field, in the order problems are listed, with its Chinese name."""
FIXED_AT_START = ("id", "process_key", "business_key", "title", "owning_district", "receiving_district",
                  "deciding_district", "started_by", "started_at", "matter_code", "matter_version")
"""The fields set when the case starts and never changed after: all a file exported earlier is held against."""
CASE_FIELDS = tuple(f for f in FIELDS if not f.startswith("definition_"))
"""The compared fields that are columns of the case row."""


@dataclass(frozen=True)
class FieldProblem:
    """A field of the file's case row that differs from the database's.

    Attributes:
        field: the field's key (a column of ``cases``, or ``definition_version``/``definition_hash``).
        name: its Chinese name.
        file: the file's value, bounded and escaped (:func:`engine.file_echo.clipped`); None when empty.
        database: the database's value, likewise.
        message: ``业务属地（owning_district）：文件为 "500155"，数据库为 "500103"``.
    """

    field: str
    name: str
    file: str | None
    database: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``tongban verify --file --json``, under ``fields``)."""
        return {"field": self.field, "name": self.name, "file": self.file, "database": self.database,
                "message": self.message}


def file_fields(history: CaseHistory) -> dict[str, Any]:
    """The compared fields the file carries (a file exported before the clock columns lacks those)."""
    case = history.case
    values = {f: case[f] for f in CASE_FIELDS if f in case}
    definition = next((d for d in history.definitions if d.get("id") == case["definition_id"]), {})
    values.update(definition_version=definition.get("version"), definition_hash=definition.get("content_hash"))
    return values


def database_fields(session: Any, case_id: int) -> dict[str, Any]:
    """The compared fields of the database's case ``case_id``, read in ``session``."""
    row = session.execute(select(*(Case.__table__.c[f] for f in CASE_FIELDS), ProcessDefinition.version,
                                 ProcessDefinition.content_hash)
                          .join(ProcessDefinition, ProcessDefinition.id == Case.definition_id)
                          .where(Case.id == case_id)).one()
    return dict(zip((*CASE_FIELDS, "definition_version", "definition_hash"), row))


def field_problems(file: Mapping[str, Any], database: Mapping[str, Any], *, all_fields: bool) -> list[FieldProblem]:
    """Each field of ``file`` that differs from ``database``: every one carried, or :data:`FIXED_AT_START` only."""
    compared = FIELDS if all_fields else FIXED_AT_START
    return [_problem(f, file[f], database[f]) for f in compared
            if f in file and _comparable(file[f]) != _comparable(database[f])]


def _comparable(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc).isoformat()
    return canonical_json(value)


def _problem(field: str, mine: Any, theirs: Any) -> FieldProblem:
    name = FIELDS[field]
    return FieldProblem(field, name, None if mine is None else clipped(mine),
                        None if theirs is None else clipped(theirs),
                        f"{name}（{field}）：文件为 {shown(mine)}，数据库为 {shown(theirs)}")
