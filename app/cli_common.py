"""What every ``tongban`` command shares: refusals in the CLI's convention, and the command and group classes.

A refusal is ``错误 [CODE]：<message>`` on stderr (plus a line per finding, field or problem) and exit status 2;
a command given ``--json`` prints it instead as the API does, ``{"code", "message", "details"}`` on stdout, with
the same exit status. That holds for a refusal of the engine (:func:`fail`), for one of the command itself
(:func:`refuse`) and for a bad parameter (:class:`CliCommand` turns click's usage errors into it).

Two parts moved out: the Chinese ``--help`` pages that :class:`CliCommand` and :class:`CliGroup` mix in
(:mod:`app.cli_help`), and the parameter types (``BoundedInt``, ``ID``, ``CaseRef``, ``PathParam``, ...:
:mod:`app.cli_types`).
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator, NoReturn

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine import EngineError
from .cli_help import ChineseHelp

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
