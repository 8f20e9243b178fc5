"""The parameter types of ``tongban`` commands: numbers that reach the database, cases, paths.

Numbers that reach the database are parsed by :class:`BoundedInt` (ids: :data:`ID`), so a value no row can have
(``99999999999999999999``) is a usage error in Chinese, not an ``OverflowError`` from the driver; a case named
by id or 办件编号 is :class:`CaseRef`, which refuses such digits as the engine refuses an unknown case; a path
is :class:`PathParam`, whose refusals are in Chinese. Each refuses through :mod:`app.cli_common`'s convention.

Moved out of :mod:`app.cli_common`: what a parameter may be is apart from how a refusal is shown.
"""
from __future__ import annotations

import os
from typing import Any, NoReturn

import click

from .bounds import BIGINT_MAX, INTEGER_MAX
from .cli_common import CliUsageError, Refused

MAX_ID = BIGINT_MAX
"""The largest id a row can have: a signed 64-bit integer (SQLite's INTEGER, PostgreSQL's bigint)."""

MAX_INT32 = INTEGER_MAX
"""The largest value of a plain ``Integer`` column (PostgreSQL's integer): versions and event numbers."""


class BoundedInt(click.ParamType):
    """A whole number between ``minimum`` and ``maximum`` (inclusive); anything else is refused in Chinese.

    Digits only (no sign, no spaces inside, ASCII); a value past the bounds, however long, is refused before
    it reaches Python's ``int`` limits or the database.
    """

    name = "integer"

    def __init__(self, minimum: int, maximum: int, noun: str = "整数") -> None:
        self.minimum, self.maximum, self.noun = minimum, maximum, noun

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, bool):
            self._refuse(value, param, ctx, numeric=False)
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            negative = text.startswith("-")
            digits = text[1:] if negative else text
            if not (digits.isascii() and digits.isdigit()):
                self._refuse(value, param, ctx, numeric=False)
            digits = digits.lstrip("0") or "0"
            if len(digits) > len(str(max(abs(self.minimum), abs(self.maximum)))):
                self._refuse(value, param, ctx, numeric=True)
            number = -int(digits) if negative else int(digits)
        if not self.minimum <= number <= self.maximum:
            self._refuse(value, param, ctx, numeric=True)
        return number

    def _refuse(self, value: Any, param: click.Parameter | None, ctx: click.Context | None, *,
                numeric: bool) -> NoReturn:
        if self.minimum <= -MAX_ID - 1 and self.maximum >= MAX_ID:     # any 64-bit integer
            wanted = "超出可处理的范围（应在 ±2^63 以内）" if numeric else "应为整数"
        else:
            wanted = f"应为 {self.minimum} 到 {self.maximum} 之间的{self.noun}"
        shown = str(value) if len(str(value)) <= 40 else f"{str(value)[:40]}…"
        raise CliUsageError(f"{wanted}，收到 “{shown}”", ctx=ctx, param=param)

    def __repr__(self) -> str:
        return f"BoundedInt({self.minimum}, {self.maximum})"


class BoundedFloat(click.ParamType):
    """A decimal number between ``minimum`` and ``maximum`` (inclusive), e.g. seconds; refused in Chinese else.

    ``nan``, ``inf`` and anything that is not a plain decimal are refused like a value out of range.
    """

    name = "number"

    def __init__(self, minimum: float, maximum: float, noun: str = "数值") -> None:
        self.minimum, self.maximum, self.noun = minimum, maximum, noun

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        text = str(value).strip()
        plain = text.isascii() and len(text) <= 20 and text.replace(".", "", 1).lstrip("-").isdigit()
        number = float(text) if plain else None
        if number is None or not self.minimum <= number <= self.maximum:
            shown = text if len(text) <= 40 else f"{text[:40]}…"
            raise CliUsageError(f"应为 {self.minimum:g} 到 {self.maximum:g} 之间的{self.noun}，收到 “{shown}”",
                                ctx=ctx, param=param)
        return number

    def __repr__(self) -> str:
        return f"BoundedFloat({self.minimum}, {self.maximum})"


ID = BoundedInt(1, MAX_ID, "编号")
"""The id of a row (grant, draft, message, rating, ...): 1 to 2**63 - 1."""

VERSION = BoundedInt(1, MAX_INT32, "版本号")
"""A process version (an ``Integer`` column: PostgreSQL refuses a larger value with an error, not no rows)."""

EVENT_SEQ = BoundedInt(1, MAX_INT32, "事件序号")
"""The number of an event in a case's history (an ``Integer`` column, as a version)."""

INTEGER = BoundedInt(-MAX_ID - 1, MAX_ID)
"""A number the engine checks itself (a batch size, a page size, a number of days): any 64-bit integer."""


def case_ref_problem(text: str) -> bool:
    """Whether ``text`` is digits that cannot be a case id (past 2**63 - 1, or not ASCII): an unknown case.

    The engine reads a reference made of digits as an id and anything else as a 办件编号 (which starts with TB).
    """
    if not text.isdigit():
        return False
    digits = text.lstrip("0") or "0"
    return not text.isascii() or len(digits) > len(str(MAX_ID)) or int(digits) > MAX_ID


class CaseRef(click.ParamType):
    """A case named by id or 办件编号, passed on as written; digits no id can have are refused as unknown.

    ``code`` is what the command's engine call says of an unknown case (``NOT_FOUND`` for every command today),
    so ``99999999999999999999`` is refused exactly as ``99999`` is.
    """

    name = "case"

    def __init__(self, code: str = "NOT_FOUND") -> None:
        self.code = code

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if case_ref_problem(text):
            raise Refused(self.code, f"办件 {text} 不存在", {"case": text})
        return text


CASE = CaseRef()
"""A case argument of verify, replay, archive build, audit access (id or 办件编号)."""


class PathParam(click.Path):
    """:class:`click.Path` whose refusals are in Chinese (``路径 X 不存在``, ``是文件夹，应为文件``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            path = os.fsdecode(value)
            if not os.path.exists(path):
                problem = "不存在"
            elif os.path.isdir(path) and not self.dir_okay:
                problem = "是文件夹，应为文件"
            elif not os.path.isdir(path) and not self.file_okay:
                problem = "是文件，应为文件夹"
            else:
                problem = "无法读取或写入"
            raise CliUsageError(f"路径 {path} {problem}", ctx=ctx, param=param, param_hint="") from None
