"""The first problem an archive check finds: which entry, what is wrong, what was expected and found, its code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .audit import canonical_json

INVALID = "ARCHIVE_INVALID"
"""Code of a package that is damaged or was changed (the message says how)."""
CASE_MISMATCH = "ARCHIVE_CASE_MISMATCH"
"""Code of a field of ``metadata/case.json`` that disagrees with the event chain (edited case record)."""
ENTRY_TOO_LARGE = "ARCHIVE_ENTRY_TOO_LARGE"
"""Code of an entry larger uncompressed than the verifier reads (a zip bomb, or not a tongban package)."""
TOO_LARGE = "ARCHIVE_TOO_LARGE"
"""Code of a package whose entries together are larger uncompressed than the verifier reads."""
VERSION_TOO_NEW = "ARCHIVE_VERSION_TOO_NEW"
"""Code of a package written in a format version newer than the verifier knows (check it with a newer tongban)."""
NONE_SHOWN = "（无）"
"""How a missing value is shown to people (never Python's ``None``)."""


def shown(value: Any) -> str:
    """A value as the report shows it: text as is, nothing as （无）, anything else as canonical JSON."""
    if value is None:
        return NONE_SHOWN
    if isinstance(value, str):
        return value
    return canonical_json(value)


@dataclass(frozen=True)
class ArchiveProblem:
    """One problem in a package.

    Attributes:
        entry: the file inside the package (relative to its folder), or ``(zip)`` for the container.
        message: what is wrong, in Chinese.
        expected: the value the check expected, when there is one.
        got: the value found instead (（无） when nothing was found).
        code: a stable code for programs (:data:`INVALID`, :data:`CASE_MISMATCH`, :data:`ENTRY_TOO_LARGE`,
            :data:`TOO_LARGE`, :data:`VERSION_TOO_NEW`).
    """

    entry: str
    message: str
    expected: str | None = None
    got: str | None = None
    code: str = INVALID

    def describe(self) -> str:
        """One line for people: ``entry：message（应为 …，实际为 …）``."""
        text = f"{self.entry}：{self.message}"
        if self.expected is not None or self.got is not None:
            text += f"（应为 {shown(self.expected)}，实际为 {shown(self.got)}）"
        return text


class Fail(Exception):
    """Raised inside the verifier to stop at the first problem.

    When either ``expected`` or ``got`` is given, the other one is shown as （无） rather than left out, so a
    report never prints a Python ``None``; values that are not text are shown as canonical JSON.
    """

    def __init__(self, entry: str, message: str, expected: Any = None, got: Any = None, *, code: str = INVALID):
        super().__init__(message)
        if expected is not None or got is not None:
            expected, got = shown(expected), shown(got)
        self.problem = ArchiveProblem(entry, message, expected, got, code)
