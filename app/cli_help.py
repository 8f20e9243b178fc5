"""The ``--help`` pages of ``tongban`` in Chinese: click's own words, and line wrapping that fits 汉字.

A command's ``help=`` and its options' help are Chinese (docstrings stay English, for developers). Click
writes its own words (Usage, Options, Commands, [default: ...], [required], the --help option's text) in
English and wraps text as if every character were one column wide and only spaces could break a line. A
:class:`ChineseHelp` command writes them in Chinese (用法, 选项, 子命令, [默认：…], [必填]) through
:class:`ChineseHelpFormatter`, which also measures 汉字 as two columns and breaks lines between them (never
inside an English word, never before "，" or after "（").

Moved out of :mod:`app.cli_common` (whose command classes mix :class:`ChineseHelp` in): page layout is a
concern of its own, and nothing here refuses or parses anything.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterator

import click

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
