"""The first problem an archive check finds: which entry, what is wrong, what was expected and found."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchiveProblem:
    """One problem in a package.

    Attributes:
        entry: the file inside the package (relative to its folder), or ``(zip)`` for the container.
        message: what is wrong, in Chinese.
        expected: the value the check expected, when there is one.
        got: the value found instead.
    """

    entry: str
    message: str
    expected: str | None = None
    got: str | None = None

    def describe(self) -> str:
        """One line for people: ``entry：message（应为 …，实际为 …）``."""
        text = f"{self.entry}：{self.message}"
        if self.expected is not None or self.got is not None:
            text += f"（应为 {self.expected}，实际为 {self.got}）"
        return text


class Fail(Exception):
    """Raised inside the verifier to stop at the first problem."""

    def __init__(self, entry: str, message: str, expected: str | None = None, got: str | None = None):
        super().__init__(message)
        self.problem = ArchiveProblem(entry, message, expected, got)
