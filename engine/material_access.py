"""Staff reading a case's materials (申请材料): the list, and each uploaded file's bytes, checked and logged.

Who may read: exactly whoever may see the case (:meth:`Queries.sees_case`, the rule of the case page and
``GET /api/v1/cases/<id>``); anyone else gets :class:`NotFound`, as for the case itself, so a case's
existence does not leak. Applicant accounts are stopped by the applicant wall before they get here, and are
refused here too, so opening the wall by mistake would still show them nothing.

Integrity: a file is copied out of the content-addressed store while it is hashed, and the copy is handed
out only when its hash equals the sha256 recorded at intake. A file changed on disk is refused
(``MATERIAL_CORRUPTED``) and so is one gone from the store (``MATERIAL_MISSING``); both are logged. A file
changed between the check and the send cannot slip through, since what is sent is the checked copy.

Every file handed out is recorded in the access log (:mod:`engine.access_log`) before it is returned.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .access_log import AccessLogBook
from .applicant_accounts import is_applicant
from .commands import Actor
from .errors import Conflict, NotFound
from .material_store import MaterialStore
from .persistence.models import Case, CaseMaterial, MatterVersion
from .queries import Queries

log = logging.getLogger("tongban.materials")
CHUNK = 1024 * 1024
SPOOL_BYTES = 1024 * 1024
"""Files up to this size are checked in memory; larger ones in a temporary file."""


@dataclass(frozen=True)
class MaterialFile:
    """A checked copy of one stored file, ready to send; ``content`` is positioned at its start."""

    key: str
    filename: str
    media_type: str
    size: int
    sha256: str
    content: IO[bytes]


class MaterialAccess:
    """List a case's materials and hand out their files to the staff who may see the case.

    Args:
        sessions: read-only session factory.
        store: where uploaded files live (None when the engine has no material store).
        book: the access log every download is recorded in.
    """

    def __init__(self, sessions: sessionmaker[Session], store: MaterialStore | None, book: AccessLogBook):
        self.sessions = sessions
        self.store = store
        self.book = book

    def list(self, actor: Actor, case_id: int) -> list[dict[str, Any]]:
        """Return the case's received materials in catalog order (files and 电子证照 references)."""
        with self.sessions() as session:
            case = self._visible_case(session, actor, case_id)
            rows = session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id)
                                   .order_by(CaseMaterial.id)).all()
            catalog = _catalog(session, case)
        order = {key: i for i, key in enumerate(catalog)}
        rows = sorted(rows, key=lambda r: (order.get(r.material_key, len(order)), r.id))
        return [material_view(row, catalog.get(row.material_key)) for row in rows]

    def open(self, actor: Actor, case_id: int, key: str) -> MaterialFile:
        """Return a checked copy of the material's file, recorded in the access log; refuse and log otherwise."""
        with self.sessions() as session:
            case = self._visible_case(session, actor, case_id)
            row = session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id,
                                                             CaseMaterial.material_key == key)).first()
            case_no = case.case_no
        if row is None:
            raise NotFound("材料不存在", details={"case_id": case_id, "material": key})
        if row.sha256 is None:
            raise Conflict(f"该材料是电子证照（{row.license_ref}），没有上传文件，请通过电子证照系统查验",
                           code="MATERIAL_NOT_A_FILE", details={"material": key, "license_ref": row.license_ref})
        copy = self._checked_copy(row.sha256)
        if isinstance(copy, str):
            self.book.record(actor, case_id=case_id, case_no=case_no, resource=key, sha256=row.sha256,
                             outcome=copy)
            log.warning("material %s of case %s refused: %s (sha256 %s)", key, case_no, copy, row.sha256)
            if copy == "missing":
                raise Conflict("材料文件不在材料库中，无法提供，请联系管理员", code="MATERIAL_MISSING",
                               details={"material": key, "sha256": row.sha256})
            raise Conflict("材料文件内容与收件时登记的 SHA-256 不符，可能已被改动，未予提供，请联系管理员",
                           code="MATERIAL_CORRUPTED", details={"material": key, "sha256": row.sha256})
        try:
            self.book.record(actor, case_id=case_id, case_no=case_no, resource=key, sha256=row.sha256,
                             outcome="served")
        except BaseException:
            copy.close()
            raise
        return MaterialFile(key, row.original_filename or key, row.media_type or "application/octet-stream",
                            row.size or 0, row.sha256, copy)

    def _visible_case(self, session: Session, actor: Actor, case_id: int) -> Case:
        case = session.get(Case, case_id)
        if case is None or is_applicant(actor) or not Queries.sees_case(session, actor, case):
            raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
        return case

    def _checked_copy(self, sha256: str) -> IO[bytes] | str:
        """A copy of the stored file whose hash matched, or the outcome (``missing``, ``corrupted``)."""
        if self.store is None or not self.store.exists(sha256):
            return "missing"
        copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        digest = hashlib.sha256()
        with open(self.store.path_of(sha256), "rb") as stored:
            while chunk := stored.read(CHUNK):
                digest.update(chunk)
                copy.write(chunk)
        if digest.hexdigest() != sha256:
            copy.close()
            return "corrupted"
        copy.seek(0)
        return copy  # type: ignore[return-value]


def material_view(row: CaseMaterial, name: str | None) -> dict[str, Any]:
    """The API shape of one received material: a file (``kind=file``) or a 电子证照 reference (``license``)."""
    return {"key": row.material_key, "name": name or row.material_key,
            "kind": "file" if row.sha256 else "license", "filename": row.original_filename,
            "size": row.size, "media_type": row.media_type, "sha256": row.sha256, "license_ref": row.license_ref,
            "verified_by": row.verified_by, "verified_at": row.verified_at, "received_at": row.received_at}


def _catalog(session: Session, case: Case) -> dict[str, str]:
    """The material names of the catalog version the case was received under, in catalog order."""
    if not case.matter_code:
        return {}
    doc = session.scalar(select(MatterVersion.doc).where(MatterVersion.code == case.matter_code,
                                                         MatterVersion.version == case.matter_version))
    return {m.get("key"): m.get("name") for m in ((doc or {}).get("materials") or []) if m.get("key")}
