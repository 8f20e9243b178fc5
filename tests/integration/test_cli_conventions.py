"""The CLI's conventions (README, Commands) held by every command through Flask's CLI runner.

Bad input is ``错误 [CODE]：<Chinese>`` on stderr and exit 2, never a traceback: an id no row can have included;
``--json`` refusals are the API's ``{"code", "message", "details"}`` on stdout; ``--version`` names tongban;
every ``--help`` page reads in Chinese.
"""
from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import current_app
from flask.cli import ScriptInfo

from app import create_app
from app.cli_common import CliCommand, CliGroup
from app.cli_types import MAX_ID, BoundedInt, CaseRef
from engine import ROLES
from tests.conftest import DATA
from tests.integration.test_cli import app, failed, ok, runner, stderr_of  # noqa: F401 - fixtures

BIG = "99999999999999999999"            # past 2**63 - 1: SQLite's driver raised OverflowError on it
LOOP = str(DATA / "processes" / "loop.bpmn")

# Every parameter of a tongban command that reads an id or a number, given BIG. A case (id or 办件编号) that
# cannot exist is refused like any unknown case; any other number out of range is a usage error (INVALID_INPUT).
# (command path, parameter, arguments, code)
BIG_VALUES = [
    ("verify", "case", ["verify", BIG], "NOT_FOUND"),
    ("replay", "case", ["replay", BIG], "NOT_FOUND"),
    ("history show", "case", ["history", BIG], "NOT_FOUND"),
    ("history show", "seq", ["history", "1", "--state", BIG], "INVALID_INPUT"),
    ("history export", "case", ["history", "export", BIG, "-o", "{tmp}/h.json"], "NOT_FOUND"),
    ("archive build", "case", ["archive", "build", BIG], "NOT_FOUND"),
    ("archive list", "limit", ["archive", "list", "--limit", BIG], "INVALID_INPUT"),
    ("audit access", "case", ["audit", "access", "--case", BIG], "NOT_FOUND"),
    ("audit access", "limit", ["audit", "access", "--limit", BIG], "INVALID_INPUT"),
    ("migrate", "cases", ["migrate", "parallel_approval", "--from", "1", "--to", "2", "--cases", f"TB1,{BIG}"],
     "NOT_FOUND"),
    ("migrate", "from_version", ["migrate", "parallel_approval", "--from", BIG, "--to", "2", "--all"],
     "INVALID_INPUT"),
    ("migrate", "to_version", ["migrate", "parallel_approval", "--from", "1", "--to", BIG, "--all"],
     "INVALID_INPUT"),
    ("migrate", "batch", ["migrate", "parallel_approval", "--from", "1", "--to", "2", "--all", "--batch", BIG],
     "INVALID_INPUT"),
    ("diff", "from_version", ["diff", "parallel_approval", BIG, "1"], "INVALID_INPUT"),
    ("diff", "to_version", ["diff", "parallel_approval", "1", BIG], "INVALID_INPUT"),
    ("grants revoke", "grant_id", ["grants", "revoke", BIG, "--reason", "x"], "INVALID_INPUT"),
    ("ratings show", "rating_id", ["ratings", "show", BIG], "INVALID_INPUT"),
    ("ratings appeal", "rating_id", ["ratings", "appeal", BIG, "--as", "u", "--reason", "x"], "INVALID_INPUT"),
    ("ratings decide", "rating_id", ["ratings", "decide", BIG, "--as", "u", "--upheld", "--opinion", "x"],
     "INVALID_INPUT"),
    ("ratings add", "score", ["ratings", "add", "TB1", "--score", BIG, "--channel", "1", "--as", "u"],
     "INVALID_INPUT"),
    ("ratings list", "limit", ["ratings", "list", "--limit", BIG], "INVALID_INPUT"),
    ("drafts save", "base_version", ["drafts", "save", "loop", LOOP, "--base-version", BIG], "INVALID_INPUT"),
    ("drafts export", "draft_id", ["drafts", "export", BIG, "{tmp}/draft"], "INVALID_INPUT"),
    ("drafts delete", "draft_id", ["drafts", "delete", BIG], "INVALID_INPUT"),
    ("drafts deploy", "draft_id", ["drafts", "deploy", BIG, "--actor", "designer"], "INVALID_INPUT"),
    ("messages retry", "message_id", ["messages", "retry", BIG, "--reason", "x"], "INVALID_INPUT"),
    ("messages discard", "message_id", ["messages", "discard", BIG, "--reason", "x"], "INVALID_INPUT"),
    ("messages list", "limit", ["messages", "list", "--limit", BIG], "INVALID_INPUT"),
    ("timers retry", "timer_id", ["timers", "retry", BIG], "INVALID_INPUT"),
    ("timers list", "limit", ["timers", "list", "--limit", BIG], "INVALID_INPUT"),
    ("report list", "limit", ["report", "list", "--limit", BIG], "INVALID_INPUT"),
    ("calendar show", "year", ["calendar", "show", BIG], "INVALID_INPUT"),
    ("calendar log", "year", ["calendar", "log", BIG], "INVALID_INPUT"),
    ("calendar import", "year", ["calendar", "import", str(DATA / "calendar" / "2027.yaml"), "--year", BIG],
     "INVALID_INPUT"),
    ("calendar due", "n", ["calendar", "due", "--from", "2026-01-01", "--days", BIG], "INVALID_INPUT"),
    ("calendar check", "n", ["calendar", "check", "--days", BIG], "INVALID_INPUT"),
    ("run", "port", ["run", "--port", BIG], "INVALID_INPUT"),
    ("run", "threads", ["run", "--threads", BIG], "INVALID_INPUT"),
]


def _param(app, path: str, name: str) -> click.Parameter:
    command = dict(_commands(app.cli))[path]
    return next(p for p in command.params if p.name == name)


def _commands(group: click.Group, prefix: str = ""):
    """tongban's own commands (app/cli*.py), not those Flask or flask-smorest add (``openapi``)."""
    for name, command in sorted(group.commands.items()):
        if not getattr(command.callback, "__module__", "").startswith("app.cli"):
            continue
        path = f"{prefix}{name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} ")


@pytest.mark.parametrize("path, param, args, code", BIG_VALUES, ids=[" ".join(v[:2]) for v in BIG_VALUES])
def test_an_id_or_number_past_64_bits_is_refused_in_chinese_with_exit_2_not_a_traceback(runner, tmp_path, path,
                                                                                         param, args, code):
    err = failed(runner.invoke(args=[a.replace("{tmp}", str(tmp_path)) for a in args]))
    assert "Traceback" not in err and "Error" not in err, err
    assert err.startswith(f"错误 [{code}]："), err
    if code == "INVALID_INPUT":
        assert re.search(r"应为 -?\d+ 到 \d+ 之间的|超出可处理的范围", err), err
    else:
        assert f"办件 {BIG} 不存在" in err or f"没有这些办件：{BIG}" in err, err


LARGEST = [v for v in BIG_VALUES if v[0] != "run"]       # a valid port would start serving


@pytest.mark.parametrize("path, param, args, code", LARGEST, ids=[" ".join(v[:2]) for v in LARGEST])
def test_the_largest_value_a_parameter_takes_reaches_the_engine_without_a_database_error(app, runner, tmp_path, path,
                                                                                         param, args, code):
    """The bounds fit the columns on both databases: the largest value accepted is answered, not a DataError."""
    largest = str(getattr(_param(app, path, param).type, "maximum", MAX_ID))
    result = runner.invoke(args=[a.replace("{tmp}", str(tmp_path)).replace(BIG, largest) for a in args])
    assert result.exit_code in (0, 1, 2) and isinstance(result.exception, (SystemExit, type(None))), \
        (result.exit_code, result.output, result.exception)
    if result.exit_code == 2:
        assert stderr_of(result).startswith("错误 ["), stderr_of(result)


def test_a_number_of_any_length_is_refused_without_echoing_all_of_it(runner):
    err = failed(runner.invoke(args=["ratings", "show", "9" * 5000]))
    assert "Traceback" not in err and len(err) < 300 and "9" * 40 + "…" in err, err


def test_the_list_above_covers_every_parameter_that_reads_an_id_or_a_number(app):
    """A new id or number parameter must use the shared types (and be added to BIG_VALUES)."""
    numeric = set()
    for path, command in _commands(app.cli):
        for param in command.params:
            assert not isinstance(param.type, (click.types.IntParamType, click.types.FloatRange)), \
                f"{path} --{param.name}: use app.cli_types.BoundedInt (ID, INTEGER, ...), not {param.type!r}"
            if isinstance(param.type, (BoundedInt, CaseRef)) or (path, param.name) == ("migrate", "cases"):
                numeric.add((path, param.name))
    assert numeric == {(path, param) for path, param, _args, _code in BIG_VALUES}


def test_every_command_is_a_tongban_command_so_that_json_refusals_hold(app):
    for path, command in _commands(app.cli):
        assert isinstance(command, CliGroup if isinstance(command, click.Group) else CliCommand), path


def test_a_case_given_by_a_small_unknown_id_is_refused_the_same_way(runner):
    assert failed(runner.invoke(args=["verify", "99999"])).startswith("错误 [NOT_FOUND]：办件 99999 不存在")
    assert failed(runner.invoke(args=["verify", "²"])).startswith("错误 [NOT_FOUND]：办件 ² 不存在")
    err = failed(runner.invoke(args=["grants", "revoke", "abc", "--reason", "x"]))
    assert err.startswith("错误 [INVALID_INPUT]：GRANT_ID 应为 1 到 9223372036854775807 之间的编号，收到 “abc”")
    assert "tongban grants revoke --help" in err or "grants revoke --help" in err


# --- --json: refusals as JSON on stdout -------------------------------------------------------------------------

def refusal(result) -> dict:
    """Assert a JSON refusal: exit 2, the API's error shape on stdout, nothing on stderr."""
    assert result.exit_code == 2, (result.output, result.exception)
    assert stderr_of(result) == "" or stderr_of(result) == result.stdout
    body = json.loads(result.stdout)
    assert set(body) <= {"code", "message", "details"} and re.search(r"[\u4e00-\u9fff]", body["message"]), body
    return body


def test_deploy_json_refuses_a_missing_path_in_json(runner, tmp_path):
    body = refusal(runner.invoke(args=["deploy", str(tmp_path / "X"), "--json"]))
    assert body == {"code": "INVALID_INPUT", "message": f"路径 {tmp_path / 'X'} 不存在", "details": {"param": "PATHS"}}
    assert failed(runner.invoke(args=["deploy", str(tmp_path / "X")])).startswith(
        f"错误 [INVALID_INPUT]：路径 {tmp_path / 'X'} 不存在")


def test_every_json_command_refuses_in_json(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    rejected = tmp_path / "bad.bpmn"
    rejected.write_bytes(b"<not-bpmn")
    cases = [
        (["deploy", "--json", "--as", "nobody"], "NOT_FOUND"),
        (["deploy", "--json", str(tmp_path / "empty")], "INVALID_INPUT"),
        (["deploy", "--json", str(rejected)], "DEFINITION_REJECTED"),
        (["lint", "--json", str(tmp_path / "empty")], "INVALID_INPUT"),
        (["verify", "--json"], "INVALID_INPUT"),
        (["verify", BIG, "--json"], "NOT_FOUND"),
        (["history", "42", "--json"], "NOT_FOUND"),
        (["history", "42", "--state", "0", "--json"], "INVALID_INPUT"),
        (["audit", "access", "--limit", "0", "--json"], "INVALID_INPUT"),
        (["archive", "list", "--limit", "0", "--json"], "INVALID_INPUT"),
        (["archive", "verify", str(tmp_path / "nope.zip"), "--json"], "INVALID_INPUT"),
        (["grants", "list", "--district", "999999", "--json"], "UNKNOWN_DISTRICT"),
        (["messages", "list", "--limit", "0", "--json"], "INVALID_INPUT"),
        (["timers", "list", "--limit", "0", "--json"], "INVALID_INPUT"),
        (["metrics", "summary", "--district", "999999", "--json"], "UNKNOWN_DISTRICT"),
        (["report", "list", "--district", "599999", "--json"], "UNKNOWN_DISTRICT"),
        (["report", "list", "--district", "XYZ", "--json"], "UNKNOWN_DISTRICT"),
        (["report", "list", "--limit", "0", "--json"], "INVALID_INPUT"),
        (["ratings", "stats", "--from", "12/01", "--json"], "INVALID_INPUT"),
        (["ratings", "list", "--limit", "0", "--json"], "INVALID_INPUT"),
        (["versions", "nope", "--json"], "NOT_FOUND"),
        (["diff", "nope", "1", "2", "--json"], "NOT_FOUND"),
        (["dryrun", str(tmp_path / "empty"), "--json"], "INVALID_INPUT"),
        (["drafts", "list", "--key", "x", "--json", "--bogus"], "INVALID_INPUT"),
        (["applicants", "list", "--json", "extra"], "INVALID_INPUT"),
    ]
    for args, code in cases:
        assert refusal(runner.invoke(args=args))["code"] == code, args
    assert json.loads(ok(runner.invoke(args=["grants", "list", "--json"]))) == []


def test_lint_json_keeps_its_exit_statuses(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    assert refusal(runner.invoke(args=["lint", str(tmp_path / "empty"), "--json"]))["code"] == "INVALID_INPUT"
    result = runner.invoke(args=["lint", "--json"])                   # everything shipped: findings, not a refusal
    assert result.exit_code == 0 and isinstance(json.loads(result.stdout), list), result.output
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(b"<not-bpmn")
    result = runner.invoke(args=["lint", str(broken), "--json"])        # an error found: 1, still a list
    assert result.exit_code == 1 and json.loads(result.stdout)[0]["severity"] == "error"


# --- --version -----------------------------------------------------------------------------------------------

def test_version_names_tongban_first(app):
    from app.cli import build_group
    result = CliRunner().invoke(build_group(), ["--version"], prog_name="tongban")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"tongban {version('tongban')}"
    assert [line.split()[0] for line in lines[1:]] == ["Python", "Flask", "Werkzeug"]


# --- dryrun says what is missing -----------------------------------------------------------------------------

def test_dryrun_of_a_diagram_without_scenarios_says_so_and_where_it_looked(runner, tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "nostart.bpmn").write_bytes(Path(LOOP).read_bytes())
    err = failed(runner.invoke(args=["dryrun", str(folder / "nostart.bpmn")]))
    assert err.startswith(f"错误 [INVALID_INPUT]：nostart.bpmn 没有场景文件：{folder / 'scenarios'} 下没有找到 "
                          "*.yaml 或 *.yml"), err
    assert "--scenario" in err and "流程图（.bpmn）" not in err
    assert f"{tmp_path} 中没有找到流程图（.bpmn）" in failed(runner.invoke(args=["dryrun", str(tmp_path)]))
    assert failed(runner.invoke(args=["dryrun", "no_such_process"])).startswith("错误 [NOT_FOUND]：没有找到 no_such_process")


def test_dryrun_takes_the_key_of_a_shipped_process_whose_folder_has_another_name(runner):
    """yidi_shoujian is declared in processes/yidi_daiban/: its key gave NOT_FOUND although the help offers keys."""
    by_key = runner.invoke(args=["dryrun", "yidi_shoujian", "--json"])
    by_folder = runner.invoke(args=["dryrun", "yidi_daiban", "--json"])
    assert by_key.exit_code == 0, by_key.output
    assert json.loads(by_key.stdout) == json.loads(by_folder.stdout)


# --- grants list refuses an unknown district like users list -----------------------------------------------

def test_grants_list_refuses_an_unknown_district_like_users_list(runner):
    users = failed(runner.invoke(args=["users", "list", "--district", "999999"]))
    grants = failed(runner.invoke(args=["grants", "list", "--district", "999999"]))
    assert grants.startswith("错误 [UNKNOWN_DISTRICT]：区县代码 999999 不存在")
    assert users.split("：")[0] == grants.split("：")[0]
    assert ok(runner.invoke(args=["grants", "list", "--district", "500103"])).strip() == "没有授权"


# --- --help reads in Chinese --------------------------------------------------------------------------------------

ENGLISH_ALLOWED = frozenset({
    "tongban",                                                  # the product
    "Python", "Flask", "Werkzeug", "PostgreSQL", "OpenAPI",     # what --version, shell, routes, bench, openapi name
    "alembic", "chinesecalendar", "python-dotenv",              # packages that migrate, calendar seed, -e use
})
"""Names a help page may hold besides code tokens. Keep it small: a sentence belongs in Chinese."""

_ASCII_RUN = re.compile(r"[!-~]+")
_CODE_MARK = re.compile(r"[_./:@=<>%#*|+\[\]{}$\\\d]")
_VALUE_LIST = re.compile(r"[A-Za-z][\w-]*(?:\s*\|\s*[A-Za-z][\w-]*)+")   # day | week | month, as click's [a|b]
_LITERAL = re.compile(r"“[ -~]*”")                                         # “# year:”: quoted as written


def _tongban_commands(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):
    """Every command and subgroup of ``group`` (as ``tongban`` lists them), by path."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _tongban_commands(command, ctx, (*prefix, name))


def _choices(command: click.Command) -> set[str]:
    return {str(c) for p in command.params if isinstance(p.type, click.Choice) for c in p.type.choices}


def english_words(page: str, paths: list[str], children: list[str], values: set[str]) -> list[tuple[str, str]]:
    """(word, line) for each English word of 4+ letters on a help page.

    Not words: option names (``--json``), metavars, codes and env var names (upper case: ``PROCESS_KEY``,
    ``INVALID_INPUT``, ``TONGBAN_DATABASE_URL``), anything with a digit or code punctuation (paths, URLs, field
    names, ``module:name``, ``.bpmn``), choices (``[json|yaml]``, ``day | week`` and ``values``: the parameter
    choices of the command and its subcommands), role codes, a literal in “…”, a command path after ``tongban``
    (``paths``, even wrapped), a subcommand (``children``) at the start of its row, and :data:`ENGLISH_ALLOWED`.
    """
    allowed = ENGLISH_ALLOWED | set(ROLES) | values
    named = "|".join(r"\s+".join(map(re.escape, path.split())) for path in paths)
    page = re.sub(rf"tongban(?:\s+(?:{named})(?![\w-]))?", " ", page)
    row = re.compile(rf"^\s+(?:{'|'.join(map(re.escape, children)) or '(?!)'})(?=\s|$)")
    found = []
    for line in page.splitlines():
        text = _VALUE_LIST.sub(" ", _LITERAL.sub(" ", row.sub(" ", line)))
        for run in _ASCII_RUN.findall(text):
            word = run.lstrip("([\"'").rstrip(")]\"',.;:!?")
            if word.startswith("-") or _CODE_MARK.search(word) or word.isupper() or word in allowed:
                continue
            if re.search(r"[A-Za-z]{4,}", word):
                found.append((word, line.strip()))
    return found


def test_every_help_page_reads_in_chinese(tmp_path):
    """``tongban ... --help`` for every command and subgroup: click's words, Flask's and ours are all Chinese."""
    from app.cli import build_group
    help_app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'help.sqlite'}"})
    help_app.instance_path = str(tmp_path / "instance")
    group = build_group()
    group.create_app = lambda: help_app
    with click.Context(group, obj=ScriptInfo(create_app=lambda: help_app)) as ctx:    # pops the app context
        commands = [((), group), *_tongban_commands(group, ctx)]                        # get_command pushes
    paths = sorted((" ".join(path) for path, _command in commands if path), key=len, reverse=True)
    assert {"users create", "openapi write", "routes", "shell", "history export"} <= set(paths)
    english = []
    for path, _command in commands:
        below = [(p, c) for p, c in commands if p[:len(path)] == path]
        children = [p[-1] for p, _c in below if len(p) == len(path) + 1]
        values = set().union(*(_choices(c) for _p, c in below))
        result = CliRunner().invoke(group, [*path, "--help"], prog_name="tongban")
        assert result.exit_code == 0, (path, result.output, result.exception)
        assert result.stdout.startswith(f"用法：{' '.join(('tongban', *path))} [选项]"), result.stdout
        english += [(" ".join(path), word, line) for word, line in english_words(result.stdout, paths, children,
                                                                                  values)]
    assert not current_app, "the walk left an app context pushed: later tests would run on this app"
    assert not english, "English on a --help page (write help= in Chinese):\n" + "\n".join(
        f"  {' '.join(filter(None, ('tongban', path, '--help')))}: {word!r} in {line!r}" for path, word, line in english)


def test_the_help_check_finds_english():
    """The check above: click's own words and an English sentence are found; codes, values and names are not."""
    page = ("Usage: tongban x [OPTIONS]\n  Show this message and exit.\n  [default: 50; required]\n"
            "  --kind [daily|weekly]  通报类型：daily 日扫描、weekly 周调度  [默认：daily]\n"
            "  统计周期：day | week | month；见 tongban users\n     list；JSON、TONGBAN_DATABASE_URL、.bpmn、"
            "bench/results.json、https://example.org/path、module:name、next_cursor、sha256、PostgreSQL、“# year:”\n"
            "  list  列出\n  Lists users who have logged in.\n")
    words = [word for word, _line in english_words(page, ["users list", "x"], ["list"], {"daily", "weekly"})]
    assert words == ["Usage", "Show", "this", "message", "exit", "default", "required", "Lists", "users", "have",
                     "logged"]


@pytest.mark.parametrize("interval", ["-1", "0", "nan", "inf", "1e3", "3601", "０.５", "99999999999999999999"])
def test_the_worker_refuses_an_interval_that_would_spin_or_sleep_for_ever(runner, interval):
    """``--interval -1`` used to be accepted and ran the worker as a busy loop."""
    err = failed(runner.invoke(args=["worker", "--interval", interval]))
    assert err.startswith("错误 [INVALID_INPUT]：--interval 应为 0.1 到 3600 之间的秒数"), err
