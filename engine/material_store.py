"""Content-addressed storage of uploaded materials (申请材料): files on disk named by their sha256.

Files never go into the database; ``case_materials`` rows point at them by hash. Identical content is
stored once. A file is received in two steps so that a refused intake leaves nothing behind:

1. :meth:`MaterialStore.stage` streams an upload into a private temporary file while hashing it, and
   refuses it (removing the temporary file) when it is too large or not one of the allowed types;
2. :meth:`MaterialStore.keep` moves a staged file to ``<root>/<ab>/<cd>/<sha256>`` (unless that content is
   already there) once the whole application has passed its checks; :meth:`MaterialStore.discard` drops
   a staged file instead. ``forget`` removes a kept file again when the database refused the intake, under the
   rules of :mod:`engine.material_claims` (another intake may be about to refer to the same content).

The media type is read from the content (magic numbers), never trusted from the client.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import Conflict, InvalidInput

ALLOWED_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG", "application/ofd": "OFD"}
"""Media types accepted for materials, with the names people know them by."""
CHUNK = 1024 * 1024


class MaterialRejected(InvalidInput):
    """An uploaded material is too large or not an allowed type; nothing was stored."""

    code = "MATERIAL_REJECTED"


@dataclass(frozen=True)
class StagedFile:
    """An upload hashed into a temporary file, waiting for the intake to pass its checks."""

    sha256: str
    size: int
    media_type: str
    filename: str
    temp_path: Path


class MaterialStore:
    """Files under ``root`` named by content hash; uploads larger than ``max_bytes`` are refused."""

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path_of(self, sha256: str) -> Path:
        """Return where the content with this hash lives (whether or not it is there)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidInput("材料哈希格式不正确")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether the content with this hash is stored."""
        return self.path_of(sha256).is_file()

    def stage(self, stream: BinaryIO, filename: str, *, label: str) -> StagedFile:
        """Hash ``stream`` into a temporary file; refuse it when too large or of a type not allowed.

        ``label`` names the material in the Chinese error message.
        """
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, name = tempfile.mkstemp(dir=incoming, prefix="upload-")
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise MaterialRejected(
                            f"材料“{label}”超过大小上限 {_megabytes(self.max_bytes)}",
                            details={"material": label, "max_bytes": self.max_bytes}, code="MATERIAL_TOO_LARGE")
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise MaterialRejected(f"材料“{label}”是空文件", details={"material": label},
                                       code="MATERIAL_EMPTY")
            media_type = sniff(temp)
            if media_type is None:
                raise MaterialRejected(f"材料“{label}”的文件类型不受支持：只接受 "
                                       f"{'、'.join(ALLOWED_TYPES.values())}",
                                       details={"material": label}, code="MATERIAL_TYPE_NOT_ALLOWED")
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StagedFile(digest.hexdigest(), size, media_type, _clean_name(filename), temp)

    def keep(self, staged: StagedFile) -> bool:
        """Move a staged file into place; return True when this content was not stored before.

        When it was, the staged copy stays until :meth:`discard`: should a refused intake remove the stored
        file before this one commits, :meth:`restore` puts it back (:mod:`engine.material_claims`).
        """
        target = self.path_of(staged.sha256)
        if target.is_file():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.temp_path, target)
        return True

    def restore(self, staged: StagedFile) -> bool:
        """Put a kept file back from its staged copy if it went missing; return True when it did.

        Raises:
            Conflict: the file is gone and this intake holds no copy of it any more.
        """
        target = self.path_of(staged.sha256)
        if target.is_file():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.temp_path, target)
        except FileNotFoundError:
            raise Conflict(f"材料“{staged.filename}”保存时丢失，请重新提交", code="MATERIAL_LOST",
                           details={"sha256": staged.sha256}) from None
        return True

    @staticmethod
    def discard(staged: StagedFile) -> None:
        """Drop a staged file that will not be kept."""
        staged.temp_path.unlink(missing_ok=True)

    def forget(self, sha256: str) -> None:
        """Remove stored content (only for content a refused intake stored and nothing refers to)."""
        self.path_of(sha256).unlink(missing_ok=True)


def sniff(path: Path) -> str | None:
    """Return the allowed media type the file's content shows, or None when it is none of them."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"PK\x03\x04"):
        # OFD (GB/T 33190) is a ZIP package whose entry point is OFD.xml at the root.
        try:
            with zipfile.ZipFile(path) as package:
                return "application/ofd" if "OFD.xml" in package.namelist() else None
        except zipfile.BadZipFile:
            return None
    return None


def _clean_name(filename: str) -> str:
    """Keep the base name of the client's file name, without path parts or control characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:255] or "未命名文件"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
