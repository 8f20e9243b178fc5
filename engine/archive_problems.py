"""The first problem an archive check finds: which entry, what is wrong, what was expected and found, its code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .file_echo import NOTHING, clipped

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
NONE_SHOWN = NOTHING
"""How a missing value is shown to people (never Python's ``None``)."""
SHOWN_CHARS = 64
"""How many characters of a value a problem shows (then ``…``): a SHA-256 in hex, the longest value a check
compares, is shown whole; a megabyte of text from an edited package is not."""
ENTRY_CHARS = 255
"""How many characters of an entry's name a problem shows (then ``…``): any name this engine writes is shorter."""


def shown(value: Any) -> str:
    r"""A value as the report shows it: nothing as （无）, text as is, anything else as canonical JSON.

    Every value of a package comes from a file anyone may have edited, so it is bounded (:data:`SHOWN_CHARS`)
    and each control, format or separator character is written as an escape such as ``\u001b``
    (:func:`engine.file_echo.clipped`).
    """
    if value is None:
        return NONE_SHOWN
    return clipped(value, SHOWN_CHARS)


def entry_shown(name: str) -> str:
    """An entry's name (from the zip or the manifest) as a problem names it: bounded and escaped likewise."""
    return clipped(name, ENTRY_CHARS)


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
    report never prints a Python ``None``; values that are not text are shown as canonical JSON. Values and the
    entry's name are bounded and escaped (:func:`shown`, :func:`entry_shown`): they come from the package.
    """

    def __init__(self, entry: str, message: str, expected: Any = None, got: Any = None, *, code: str = INVALID):
        super().__init__(message)
        if expected is not None or got is not None:
            expected, got = shown(expected), shown(got)
        self.problem = ArchiveProblem(entry_shown(entry), message, expected, got, code)
