"""The archive packages on record: list them, and hand out a built one after checking its bytes."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from .errors import Conflict, NotFound
from .persistence.audit_repository import ArchiveRepository
from .persistence.models import Case

STATES = ("pending", "building", "built", "failed")


@dataclass(frozen=True)
class ArchiveInfo:
    """An archive package job as ``tongban archive list`` and the API show it."""

    case_id: int
    case_no: str
    state: str
    attempts: int
    enqueued_at: datetime
    built_at: datetime | None
    event_seq: int | None
    chain_head: str | None
    sha256: str | None
    size: int | None
    path: str | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class ArchiveFile:
    """A built package ready to send: where it is, the name to offer, and its sha256."""

    path: Path
    download_name: str
    sha256: str


def archive_info(engine: Any, case_id: int) -> ArchiveInfo:
    """The job of one case.

    Raises:
        NotFound: ``NOT_FOUND`` when no such case exists; ``ARCHIVE_NOT_FOUND`` when the case has no job
            (still running, or closed before archiving was installed).
    """
    found = list_archives(engine, case_id=case_id)
    if found:
        return found[0]
    with engine.database.engine.connect() as conn:
        status = conn.execute(select(Case.status).where(Case.id == case_id)).scalar()
    if status is None:
        raise NotFound("办件不存在", details={"case_id": case_id})
    why = ("尚未办结" if status != "completed"
           else "办结于归档启用之前，可运行 tongban archive build --missing 补建")
    raise NotFound(f"该办件没有归档包（{why}）", code="ARCHIVE_NOT_FOUND", details={"case_id": case_id})


def list_archives(engine: Any, *, state: str | None = None, limit: int = 100,
                  case_id: int | None = None) -> list[ArchiveInfo]:
    """Archive jobs, newest first (optionally in one state, or of one case)."""
    with engine.database.engine.connect() as conn:
        rows = ArchiveRepository(SimpleNamespace(connection=conn)).listing(state=state, limit=limit, case_id=case_id)
    return [ArchiveInfo(r.case_id, r.case_no, r.state, r.attempts, r.enqueued_at, r.built_at, r.event_seq,
                        r.chain_head, r.sha256, r.size, r.path, r.last_error) for r in rows]


def archive_file(engine: Any, case_id: int) -> ArchiveFile:
    """The built package of a case, checked against its recorded sha256 before it is handed out.

    Raises:
        NotFound: no such case (``NOT_FOUND``), or no package (``ARCHIVE_NOT_FOUND``).
        Conflict: not built yet (``ARCHIVE_PENDING``), given up (``ARCHIVE_FAILED``), or the file is missing
            or differs from what was built (``ARCHIVE_FILE_CHANGED``).
    """
    info = archive_info(engine, case_id)
    if info.state in ("pending", "building"):
        if info.attempts and info.last_error:
            # Failed before and waiting for its next try: say why, rather than "being built" for ever.
            why = f"归档包尚未生成：已尝试 {info.attempts} 次未成功，将自动重试；上次失败原因：{info.last_error}"
            raise Conflict(why, code="ARCHIVE_PENDING", details={"case_no": info.case_no, "attempts": info.attempts,
                                                            "last_error": info.last_error})
        raise Conflict("归档包正在生成，请稍后再试", code="ARCHIVE_PENDING", details={"case_no": info.case_no})
    if info.state == "failed":
        raise Conflict(f"归档包生成失败：{info.last_error}", code="ARCHIVE_FAILED", details={"case_no": info.case_no})
    path = Path(engine.config.archives_dir) / str(info.path)
    if not path.is_file() or _sha256(path) != info.sha256:
        raise Conflict("归档包文件缺失或与生成时不符，请运行 tongban archive build 重新生成",
                       code="ARCHIVE_FILE_CHANGED", details={"case_no": info.case_no, "sha256": info.sha256})
    return ArchiveFile(path, f"{info.case_no}.zip", info.sha256)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
