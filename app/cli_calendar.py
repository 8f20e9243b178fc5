"""``tongban calendar``: load and inspect the statutory working-day calendar and compute due dates."""
from __future__ import annotations

import getpass
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import with_appcontext

from engine import (
    CST, CalendarInvalid, CalendarUnknown, DayFact, DayKind, EngineError, calendar_coverage, calendar_log,
    calendar_years, ensure_calendar_seeded, import_calendar_year, load_work_calendar, parse_schedule,
)

from .cli_common import CliGroup, fail
from .cli_types import BoundedInt, PathParam
from .pages.labels import CLOCKS_SHORT
from .runtime import get_engine

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}
ACTIONS_ZH = {"created": "已新增", "replaced": "已替换（已记入载入日志）", "unchanged": "未变化"}
WEEKDAYS_ZH = "一二三四五六日"
YEAR = BoundedInt(1, 9999, "年份")
"""A calendar year; whether it is one the calendar can hold is the engine's to say (CALENDAR_INVALID)."""


def _fail(exc: EngineError) -> NoReturn:
    fail(exc)


def _actor(given: str | None) -> str:
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def _parse_date(raw: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
            return date.fromisoformat(raw.strip())
    except ValueError:
        pass
    raise CalendarInvalid(f"日期 “{raw}” 无效，应为 YYYY-MM-DD 格式的真实日期")


def _years_text(years: list[int] | tuple[int, ...]) -> str:
    """Compress years into runs: 2004–2026、2028."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return "、".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs) or "无"


@click.group("calendar", cls=CliGroup, help="法定工作日日历：节假日、调休上班日和期限计算。")
def calendar_group() -> None:
    """Statutory working-day calendar: holidays, 调休 make-up workdays and due dates."""


@calendar_group.command("seed", short_help="载入 chinesecalendar 覆盖而尚未载入的年份", help=(
    "载入 chinesecalendar 包覆盖、但尚未载入的所有年份（可重复运行）。"))
@with_appcontext
def calendar_seed() -> None:
    """Load every year the chinesecalendar package covers that is not loaded yet (idempotent)."""
    engine = get_engine()
    try:
        outcomes = ensure_calendar_seeded(engine, actor=_actor(None))
    except EngineError as exc:
        _fail(exc)
    if outcomes:
        click.echo(f"已从 chinesecalendar 载入 {len(outcomes)} 个年份：{_years_text([o.year for o in outcomes])}")
    else:
        click.echo("没有需要载入的年份：chinesecalendar 覆盖的年份均已载入")
    click.echo(f"已载入年份：{_years_text([info.year for info in calendar_years(engine)])}")


@calendar_group.command("import", help="从 YAML 或 CSV 文件 FILE 载入一年的国务院节假日安排。")
@with_appcontext
@click.argument("file", type=PathParam(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="该年份已载入不同内容时替换（记入载入日志）")
@click.option("--year", type=YEAR, help="文件未声明年份时（CSV 无 “# year:” 行）使用的年份")
@click.option("--source", help="文件未注明来源时使用的通知文号")
@click.option("--actor", help="操作人，记入载入日志（默认 cli:<系统用户>）")
def calendar_import(file: Path, replace: bool, year: int | None, source: str | None,
                    actor: str | None) -> None:
    """Load one year's State Council schedule from a YAML or CSV FILE."""
    fmt = FORMATS.get(file.suffix.lower())
    try:
        if fmt is None:
            raise CalendarInvalid(f"无法识别文件 {file.name} 的格式：扩展名应为 .yaml、.yml 或 .csv")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise CalendarInvalid(f"文件 {file.name} 不是 UTF-8 编码") from None
        schedule = parse_schedule(text, fmt, year=year, source=source)
        outcome = import_calendar_year(get_engine(), schedule, actor=_actor(actor), replace=replace)
    except EngineError as exc:
        _fail(exc)
    click.echo(f"{schedule.year} 年节假日安排{ACTIONS_ZH[outcome.action]}：来源 {schedule.source}，"
               f"{len(schedule.facts)} 个日期，摘要 {outcome.content_hash[:12]}")
    if outcome.action != "unchanged":
        checked, changed = get_engine().recompute_deadlines(
            f"{schedule.year} 年节假日安排{ACTIONS_ZH[outcome.action]}（{schedule.source}）")
        click.echo(f"已重算 {checked} 个在办办件的时限，其中 {changed} 个发生变化")


@calendar_group.command("provisional", short_help="列出时限为暂定的在办办件", help=(
    "列出时限为暂定的在办办件（时限跨入尚未载入节假日安排的年份）。"))
@with_appcontext
def calendar_provisional() -> None:
    """List running cases whose deadline is a provisional estimate (it reaches a year not yet loaded)."""
    rows = get_engine().queries.cases_with_clocks(provisional_only=True)
    for row in rows:
        dues = "，".join(f"{label} {row[f'{kind}_due_at'].astimezone(CST) - timedelta(days=1):%Y-%m-%d}"
                        for kind, label in CLOCKS_SHORT.items() if row[f"{kind}_due_at"])
        click.echo(f"{row['case_no']}  {dues or '计时暂停中'}")
    click.echo(f"共 {len(rows)} 个办件的时限为暂定（跨入尚未载入节假日安排的年份）")


@calendar_group.command("show", short_help="打印某年的节假日安排和工作日天数",
                        help="打印 YEAR 年的放假日期、调休上班日和全年工作日天数。")
@with_appcontext
@click.argument("year", type=YEAR)
def calendar_show(year: int) -> None:
    """Print YEAR's holidays and 调休上班 days and its number of working days."""
    engine = get_engine()
    info = next((item for item in calendar_years(engine) if item.year == year), None)
    if info is None:
        _fail(CalendarUnknown(f"{year} 年节假日安排尚未载入（tongban calendar import 或 seed）"))
    calendar = load_work_calendar(engine)
    loaded_at = info.loaded_at.astimezone(CST)
    click.echo(f"{year} 年节假日安排（来源：{info.source}；{info.loaded_by} 于 {loaded_at:%Y-%m-%d %H:%M} 载入）")
    for line in _lines(calendar.year_facts(year)):
        click.echo(f"  {line}")
    click.echo(f"全年工作日：{calendar.workday_count(year)} 天")


LOG_ACTIONS_ZH = {"created": "新增", "replaced": "替换", "unchanged": "未变化"}


@calendar_group.command("log", short_help="列出节假日安排的载入日志", help=(
    "列出节假日安排的每次载入（可只列 YEAR 年）：时间、操作、内容摘要、来源和操作人。替换时注明被替换的安排"
    "是否已保存：未保存的（早于系统保存被替换安排的替换），重放在其有效期间查询该年的办件会被拒绝。"))
@with_appcontext
@click.argument("year", type=YEAR, required=False)
def calendar_log_command(year: int | None) -> None:
    """List every load of the calendar (of YEAR), and whether each replacement kept the replaced schedule."""
    entries = calendar_log(get_engine(), year)
    for entry in entries:
        action = LOG_ACTIONS_ZH.get(entry.action, entry.action)
        line = (f"{entry.at.astimezone(CST):%Y-%m-%d %H:%M}  {entry.year} 年  {action}  摘要 {entry.content_hash[:12]}"
                f"  来源 {entry.source}  操作人 {entry.actor}")
        if entry.action == "replaced":
            kept = "已保存，可供重放" if entry.previous_kept else "未保存：重放在其有效期间查询该年的办件将被拒绝"
            line += f"\n    被替换的安排（摘要 {(entry.previous_hash or '')[:12]}）{kept}"
        click.echo(line)
    lost = sum(entry.previous_kept is False for entry in entries)
    click.echo(f"共 {len(entries)} 次载入" + (f"，其中 {lost} 次替换前的安排未保存" if lost else ""))


def _lines(facts: list[tuple[date, DayFact]]) -> list[str]:
    # Consecutive days off of one festival print as one block, whether 法定 or 调休, as the notices do.
    entries: list[tuple[date, str]] = []
    blocks: list[list[tuple[date, DayFact]]] = []
    for day, fact in facts:
        if fact.is_workday:
            entries.append((day, f"调休上班  {day}（星期{WEEKDAYS_ZH[day.weekday()]}） {fact.note}"))
        elif blocks and day == blocks[-1][-1][0] + timedelta(days=1) and fact.note == blocks[-1][-1][1].note:
            blocks[-1].append((day, fact))
        else:
            blocks.append([(day, fact)])
    for block in blocks:
        first, last = block[0][0], block[-1][0]
        span = f"{first}" if first == last else f"{first} 至 {last}"
        swapped = [day.isoformat() for day, fact in block if fact.kind is DayKind.DAYOFF]
        extra = f"，其中 {'、'.join(swapped)} 为调休" if swapped else ""
        entries.append((first, f"放假      {span}（{len(block)} 天） {block[0][1].note}{extra}"))
    return [text for _, text in sorted(entries)]


@calendar_group.command("due", help="计算期满日；打印的最后一行只有日期（YYYY-MM-DD）。")
@with_appcontext
@click.option("--from", "start", required=True, help="起算日（当日不计入），YYYY-MM-DD")
@click.option("--days", "n", required=True, type=BoundedInt(0, 3650, "期限长度"),
              help="期限长度（0 至 3650）")
@click.option("--unit", type=click.Choice(["workday", "day"]), default="workday", show_default=True,
              help="workday：工作日；day：自然日（期满日为休息日或节假日时顺延）")
@click.option("--strict", is_flag=True, help="涉及未载入的年份时拒绝计算，而不是按仅跳过周末估算")
def calendar_due(start: str, n: int, unit: str, strict: bool) -> None:
    """Compute a due date; the date alone, as YYYY-MM-DD, is the last line printed."""
    try:
        day = _parse_date(start)
        calendar = load_work_calendar(get_engine(), strict=strict)
        due = calendar.workdays_after(day, n) if unit == "workday" else calendar.days_after(day, n)
    except EngineError as exc:
        _fail(exc)
    click.echo(f"规则：{due.rule}")
    if due.confirmed:
        click.echo("状态：确定（confirmed）")
    else:
        click.echo(f"状态：暂定（provisional）：{_years_text(due.unknown_years)} 年节假日安排尚未载入")
    click.echo(due.date.isoformat())


@calendar_group.command("check", short_help="检查节假日安排是否覆盖今后 N 天", help=(
    "节假日安排未覆盖今天起 --days 天时给出警告，并以状态 1 退出（今天按引擎的时钟）。"))
@with_appcontext
@click.option("--days", "n", default=60, show_default=True, type=BoundedInt(0, 3650, "天数"),
              help="自今天起须覆盖的天数")
def calendar_check(n: int) -> None:
    """Exit 1 with a warning when the calendar does not cover today + N days (today from the engine clock)."""
    coverage = calendar_coverage(get_engine(), days=n)
    if not coverage.ok:
        click.echo(f"警告：{coverage.warning()}", err=True)
        sys.exit(1)
    click.echo(f"OK：节假日安排已覆盖今天（{coverage.today}）起 {n} 天（至 {coverage.horizon}）")
