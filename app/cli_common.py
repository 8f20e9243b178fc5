"""What every ``tongban`` command shares: refusals in the CLI's convention, and the parameter types of ids.

A refusal is ``错误 [CODE]：<message>`` on stderr (plus a line per finding, field or problem) and exit status 2;
a command given ``--json`` prints it instead as the API does, ``{"code", "message", "details"}`` on stdout, with
the same exit status. That holds for a refusal of the engine (:func:`fail`), for one of the command itself
(:func:`refuse`) and for a bad parameter (:class:`CliCommand` turns click's usage errors into it).

``--help`` is in Chinese too (:class:`ChineseHelp`): a command's ``help=`` and its options' help are Chinese
(docstrings stay English, for developers), and so are click's own words (用法, 选项, 子命令, [默认：…], [必填]).

Numbers that reach the database are parsed by :class:`BoundedInt` (ids: :data:`ID`), so a value no row can have
(``99999999999999999999``) is a usage error in Chinese, not an ``OverflowError`` from the driver; a case named
by id or 办件编号 is :class:`CaseRef`, which refuses such digits as the engine refuses an unknown case.
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
from typing import Any, Iterator, NoReturn

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine import EngineError
from .bounds import BIGINT_MAX, INTEGER_MAX


MAX_ID = BIGINT_MAX
"""The largest id a row can have: a signed 64-bit integer (SQLite's INTEGER, PostgreSQL's bigint)."""

MAX_INT32 = INTEGER_MAX
"""The largest value of a plain ``Integer`` column (PostgreSQL's integer): versions and event numbers."""

_JSON_FLAG = "--json"


class Refused(click.ClickException):
    """A refusal in the CLI's convention; shown as JSON on stdout when the command was given ``--json``."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None, *, exit_code: int = 2,
                 as_json: bool = False, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = dict(details or {})
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it per class; a few refusals exit 1
        self.as_json = as_json
        self.hint = hint
        """A last line for people (where the usage is explained); not part of the JSON."""

    @classmethod
    def of(cls, exc: EngineError, *, exit_code: int = 2, as_json: bool = False) -> Refused:
        """The refusal of an engine error, with its code, message and details."""
        return cls(exc.code, exc.message, exc.details, exit_code=exit_code, as_json=as_json)

    def to_dict(self) -> dict[str, Any]:
        """The API's error shape (``details`` always, ``{}`` when there is nothing to add), as the API's."""
        return {"code": self.code, "message": self.message, "details": dict(self.details)}

    def show(self, file: Any = None) -> None:
        if self.as_json:
            click.echo(json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str))
            return
        click.echo(f"错误 [{self.code}]：{self.message}", err=True)
        for line in detail_lines(self.details):
            click.echo(f"  - {line}", err=True)
        if self.hint:
            click.echo(self.hint, err=True)


def detail_lines(details: dict[str, Any]) -> Iterator[str]:
    """One line per lint finding, per refused field and per problem of a refused file."""
    for finding in details.get("findings", []):
        where = f" ({finding['element_id']})" if finding.get("element_id") else ""
        yield f"{finding['code']}{where}: {finding['message']}"
    yield from _field_lines(details.get("fields", {}), "")
    for problem in details.get("problems", []):
        yield str(problem)


def _field_lines(fields: Any, prefix: str) -> Iterator[str]:
    if not isinstance(fields, dict):
        return
    for field, messages in fields.items():
        name = f"{prefix}{field}"
        if isinstance(messages, dict):
            yield from _field_lines(messages, f"{name}.")
        elif isinstance(messages, (list, tuple)):
            yield f"{name}: {'；'.join(str(m) for m in messages)}"
        else:
            yield f"{name}: {messages}"


def wants_json() -> bool:
    """Whether the running command was given ``--json`` (its ``as_json`` parameter)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.params.get("as_json"))


def fail(exc: EngineError, *, exit_code: int = 2) -> NoReturn:
    """Refuse with an engine error: ``错误 [CODE]：…`` on stderr, or its JSON on stdout under ``--json``."""
    raise Refused.of(exc, exit_code=exit_code, as_json=wants_json())


def refuse(code: str, message: str, **details: Any) -> NoReturn:
    """Refuse (exit 2) for a reason of the command's own, like :func:`fail`."""
    raise Refused(code, message, details, as_json=wants_json())


class CliUsageError(click.BadParameter):
    """A bad parameter, told in Chinese: ``错误 [INVALID_INPUT]：GRANT_ID 应为…`` and a pointer to ``--help``."""

    code = "INVALID_INPUT"

    def format_message(self) -> str:
        where = self.param_hint if isinstance(self.param_hint, str) else param_label(self.param)
        return f"{where} {self.message}" if where else self.message

    def show(self, file: Any = None) -> None:
        usage_refusal(self, as_json=False).show(file)


def param_label(param: click.Parameter | None) -> str:
    """How the user wrote the parameter: ``--limit`` for an option, ``GRANT_ID`` for an argument."""
    if param is None:
        return ""
    if isinstance(param, click.Option):
        return "/".join(param.opts)
    return param.human_readable_name


def usage_refusal(exc: click.UsageError, *, as_json: bool, ctx: click.Context | None = None) -> Refused:
    """A usage error (click's own, or a :class:`CliUsageError`) as a refusal: ``INVALID_INPUT``, in Chinese."""
    param = getattr(exc, "param", None)
    details = {"param": param_label(param)} if param is not None else {}
    ctx = exc.ctx or ctx
    hint = f"（用法见 {ctx.command_path} --help）" if ctx is not None else None
    return Refused(CliUsageError.code, usage_message(exc), details, exit_code=exc.exit_code, as_json=as_json,
                   hint=hint)


_CLICK_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), chinese) for pattern, chinese in (
    (r"^'?(.*?)'? is not one of (.*)\.$", "“\\1” 不是可选的值（可选：\\2）"),
    (r"^'?(.*?)'? is not '(.*)'\.$", "“\\1” 不是可选的值（可选：\\2）"),
    (r"^'(.*)' does not match the formats? (.*)\.$", "“\\1” 不符合格式 \\2"),
    (r"^'(.*)' is not a valid integer\.$", "“\\1” 不是整数"),
    (r"^'(.*)' is not a valid float\.$", "“\\1” 不是数字"),
    (r"^'(.*)' is not a valid boolean\.$", "“\\1” 不是布尔值"),
    (r"^Option '(.*)' requires an argument\.$", "选项 \\1 缺少取值"),
    (r"^Option '(.*)' does not take a value\.$", "选项 \\1 不带取值"),
    (r"^Got unexpected extra arguments? \((.*)\)$", "多余的参数：\\1"),
    (r"^No such command '(.*)'\.$", "没有子命令 \\1"),
))


def usage_message(exc: click.UsageError) -> str:
    """Click's usage error in Chinese (the common ones; any other keeps click's words after a Chinese lead)."""
    if isinstance(exc, CliUsageError):
        return exc.format_message()
    param = getattr(exc, "param", None)
    if isinstance(exc, click.NoSuchOption):
        maybe = f"（是否想用 {'、'.join(sorted(exc.possibilities))}？）" if exc.possibilities else ""
        return f"没有选项 {exc.option_name}{maybe}"
    if isinstance(exc, click.MissingParameter):
        return f"缺少{'参数' if isinstance(param, click.Argument) else '选项'} {param_label(param)}".rstrip()
    for pattern, chinese in _CLICK_ZH:
        if pattern.match(exc.message):
            text = pattern.sub(chinese, exc.message)
            return f"{param_label(param)} {text}".strip() if isinstance(exc, click.BadParameter) else text
    if isinstance(exc, click.BadParameter):
        return f"{param_label(param)} 的值无效：{exc.message}".strip()
    return f"用法有误：{exc.message}"


_NOT_READY = ("no such table", "does not exist", "unable to open database", "connection refused",
              "could not connect", "connection failed")


def database_not_ready(exc: OperationalError | ProgrammingError, *, as_json: bool = False) -> Refused | None:
    """The refusal for a database that is missing, unreachable or not migrated; None for any other error."""
    text = str(exc.orig if exc.orig is not None else exc)
    if not any(hint in text.lower() for hint in _NOT_READY):
        return None
    first = text.strip().splitlines()[0] if text.strip() else ""
    return Refused("DATABASE_NOT_READY", f"数据库不可用或尚未迁移（{first}）。请先运行 tongban migrate（或 make run），"
                   "并检查 TONGBAN_DATABASE_URL。", as_json=as_json)


# --- help pages in Chinese ---------------------------------------------------------------------------------------
# Click writes its own words (Usage, Options, Commands, [default: ...], [required], the --help option's text) in
# English and wraps text as if every character were one column wide and only spaces could break a line. A
# :class:`ChineseHelp` command writes them in Chinese through :class:`ChineseHelpFormatter`, which also measures
# 汉字 as two columns and breaks lines between them (never inside an English word, never before "，" or after "（").

HELP_OPTION_HELP = "显示本帮助后退出"
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "子命令 [参数]..."
_HEADINGS = {"Options": "选项", "Commands": "子命令", "Positional arguments": "参数"}
_OPENING = "（《「『【“‘"
_CLOSING = "，。、；：？！）》」』】”’…"


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def display_width(text: str) -> int:
    """How many terminal columns ``text`` takes: two for a wide (CJK) character, one for any other."""
    return sum(2 if _wide(char) else 1 for char in text)


def _pieces(paragraph: str) -> Iterator[tuple[str, str]]:
    """The paragraph's unbreakable pieces, each with the spaces that go before it unless it starts a line.

    A line may break at spaces and next to a wide character, except before closing or after opening punctuation;
    inside ``[…]`` (click's ``[默认：…；必填]``) only after "：" or "；".
    """
    for match in re.finditer(r"(\s*)(\S+)", paragraph.strip()):
        spaces, word = match.groups()
        spaces = " " if "\n" in spaces else spaces
        start = depth = 0
        for i in range(1, len(word)):
            before, after = word[i - 1], word[i]
            depth += (before == "[") - (before == "]")
            if depth > 0:
                breaks = before in "：；"
            else:
                breaks = (_wide(before) or _wide(after)) and after not in _CLOSING and before not in _OPENING
            if breaks:
                yield ("" if start else spaces), word[start:i]
                start = i
        yield ("" if start else spaces), word[start:]


def wrap_help(text: str, width: int, initial_indent: str = "", subsequent_indent: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` columns (a longer word stays whole); paragraphs apart by a blank line.

    A paragraph that starts with ``\\b`` keeps its lines as written, as click's ``wrap_text`` does.
    """
    lines: list[str] = []
    indent = initial_indent
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if lines:
            lines.append("")
        if paragraph.startswith("\b"):
            for raw in paragraph[1:].strip("\n").splitlines():
                lines.append(indent + raw)
                indent = subsequent_indent
            continue
        line = ""
        for space, piece in _pieces(paragraph):
            if line and display_width(indent + line + space + piece) > width:
                lines.append(indent + line)
                indent, line = subsequent_indent, piece
            else:
                line += (space if line else "") + piece
        lines.append(indent + line)
        indent = subsequent_indent
    return lines


class ChineseHelpFormatter(click.HelpFormatter):
    """Click's help page with its headings and usage prefix in Chinese, wrapped by :func:`wrap_help`."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        lead = " " * self.current_indent + ("用法：" if prefix is None else prefix) + prog
        if not args:
            self.write(f"{lead}\n")
            return
        lead += " "
        self.write("\n".join(wrap_help(args, self.width, lead, " " * display_width(lead))) + "\n")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{_HEADINGS.get(heading, heading)}：\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        self.write("\n".join(line if line.strip() else "" for line in wrap_help(text, self.width, indent, indent)))
        self.write("\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(term, text) for term, text in rows]
        first = min(max((display_width(term) for term, _text in rows), default=0), col_max) + col_spacing
        hang = " " * (first + self.current_indent)
        for term, text in rows:
            self.write(f"{'':>{self.current_indent}}{term}")
            if not text:
                self.write("\n")
                continue
            if display_width(term) <= first - col_spacing:
                self.write(" " * (first - display_width(term)))
            else:
                self.write("\n" + hang)
            lines = wrap_help(text, max(self.width - first - 2, 10))
            self.write(lines[0] + "".join(f"\n{hang}{line}" if line else "\n" for line in lines[1:]) + "\n")


class ChineseHelpContext(click.Context):
    """The context of a :class:`ChineseHelp` command: its help page is written by :class:`ChineseHelpFormatter`."""

    formatter_class = ChineseHelpFormatter


def option_help_record(param: click.Option, ctx: click.Context) -> tuple[str, str] | None:
    """An option's row on the help page, with click's ``[default: …; required]`` as ``[默认：…；必填]``."""
    record = param.get_help_record(ctx)
    if record is None or not hasattr(param, "get_help_extra"):    # Click < 8.2 has no get_help_extra
        return record
    extra = param.get_help_extra(ctx)
    items = [f"环境变量：{'、'.join(extra['envvars'])}"] if "envvars" in extra else []
    items += [f"默认：{extra['default']}"] if "default" in extra else []
    items += [extra["range"]] if "range" in extra else []
    items += ["必填"] if "required" in extra else []
    text = param.help or ""
    if items:
        text = f"{text}  [{'；'.join(items)}]" if text else f"[{'；'.join(items)}]"
    return record[0], text


class ChineseHelp:
    """Mixed into a click command class: its ``--help`` page is in Chinese (click's own words included).

    A command's text is its ``help=`` (the docstring stays English, for developers); its line in a group's list
    is ``short_help=``, else the first sentence of ``help`` (up to "。"), cut to fit with "…".
    """

    context_class = ChineseHelpContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        if isinstance(self, click.Group):
            kwargs.setdefault("subcommand_metavar", SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [option_help_record(param, ctx) for param in self.get_params(ctx)  # type: ignore[attr-defined]
                if isinstance(param, click.Option)]
        if any(rows):
            with formatter.section("Options"):
                formatter.write_dl([row for row in rows if row is not None])
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help or not self.help:  # type: ignore[attr-defined]
            return super().get_short_help_str(limit)  # type: ignore[misc]
        first = " ".join(self.help.partition("\f")[0].split("\n\n")[0].split())  # type: ignore[attr-defined]
        text = first.split("。")[0]
        if display_width(text) <= limit:
            return text
        while text and display_width(text) + 1 > limit:
            text = text[:-1]
        return text.rstrip("，、；： ") + "…"


class CliCommand(ChineseHelp, click.Command):
    """A ``tongban`` command: a bad parameter is refused in the CLI's convention, under ``--json`` in JSON."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a database that is not ready is refused in the convention (JSON under ``--json``)."""
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as exc:
            refusal = database_not_ready(exc, as_json=bool(ctx.params.get("as_json")))
            if refusal is None:
                raise
            raise refusal from None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        as_json = self._json_asked(args)         # before parsing: click's parser consumes the list
        try:
            return super().parse_args(ctx, args)
        except Refused as exc:
            exc.as_json = exc.as_json or as_json
            raise
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise usage_refusal(exc, as_json=as_json, ctx=ctx) from None

    def _json_asked(self, args: list[str]) -> bool:
        if not any(param.name == "as_json" for param in self.params):
            return False
        return _JSON_FLAG in (args[:args.index("--")] if "--" in args else args)


class CliGroup(ChineseHelp, click.Group):
    """A group of ``tongban`` commands: its commands are :class:`CliCommand`, its groups :class:`CliGroup`."""

    command_class = CliCommand
    group_class = type

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                           list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:              # no such subcommand
            raise usage_refusal(exc, as_json=False, ctx=ctx) from None


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
