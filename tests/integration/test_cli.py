"""Every ``tongban`` command (except ``run`` and ``bench``) through Flask's CLI runner, on both databases."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from app import create_app
from app.demo import DEMO_APPLICANTS, DEMO_USERS
from app.runtime import get_engine
from tests.bpmn_factory import diagram
from tests.conftest import DATA

XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" '
       b'targetNamespace="http://tongban.test"><bpmn:process id="xxe" isExecutable="true">'
       b'<bpmn:startEvent id="s" name="&xxe;"/></bpmn:process></bpmn:definitions>\n')


def make_app(database_url: str) -> Flask:
    """An app on ``database_url`` (tests close its engine through ``close_engine``)."""
    return create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})


def close_engine(app: Flask) -> None:
    """Close the app's engine if a command built one."""
    engine = app.extensions.get("tongban")
    if engine is not None:
        engine.close()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a migrated database of each kind, with its instance folder in tmp_path."""
    application = make_app(database_url)
    application.instance_path = str(tmp_path / "instance")
    yield application
    close_engine(application)


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Flask's CLI runner for the app (commands push their own app context)."""
    return app.test_cli_runner()


def stderr_of(result: Result) -> str:
    """What the command wrote to stderr (Click 8.2+ keeps it apart; older Clicks mix it into output)."""
    try:
        return result.stderr
    except ValueError:  # Click < 8.2 with mix_stderr=True
        return result.output


def ok(result: Result) -> str:
    """Assert the command succeeded and return its stdout."""
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def failed(result: Result, code: int = 2) -> str:
    """Assert the command failed with ``code`` and return its stderr."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return stderr_of(result)


def create_user(runner: FlaskCliRunner, username: str, *extra: str) -> Result:
    """Run ``users create`` with a name, the reviewer role and 渝中区住建 unless ``extra`` says otherwise."""
    args = list(extra) or ["--role", "reviewer", "--district", "500103", "--department", "zhujian"]
    return runner.invoke(args=["users", "create", username, "--name", "住建审查", *args])


# --- the runner itself ----------------------------------------------------------------------------------------

def test_the_commands_run_under_the_flask_cli_runner_without_an_explicit_app_context(app):
    result = app.test_cli_runner().invoke(args=["users", "list"])
    assert not isinstance(result.exception, RuntimeError), repr(result.exception)
    assert result.exit_code == 0, repr(result.exception)


def test_the_commands_run_through_the_tongban_console_group(app):
    from flask.cli import FlaskGroup
    group = FlaskGroup(create_app=lambda: app, add_default_commands=False, load_dotenv=False)
    result = app.test_cli_runner().invoke(group, args=["deploy", "--json"], env={"FLASK_RUN_FROM_CLI": None})
    assert result.exit_code == 0, (result.output, result.exception)
    assert {r["key"] for r in json.loads(result.stdout)} >= {"parallel_approval", "accept_application"}


def test_a_database_that_was_never_migrated_gets_a_clear_message_not_a_traceback(tmp_path):
    from app.cli import build_group
    app = make_app(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        group = build_group()
        group.create_app = lambda: app
        result = app.test_cli_runner().invoke(group, args=["users", "list"], env={"FLASK_RUN_FROM_CLI": None})
        assert result.exit_code == 2, (result.output, result.exception)
        assert "DATABASE_NOT_READY" in result.output and "tongban migrate" in result.output
        assert "Traceback" not in result.output
        as_json = app.test_cli_runner().invoke(group, args=["deploy", "--json"], env={"FLASK_RUN_FROM_CLI": None})
        assert as_json.exit_code == 2, (as_json.output, as_json.exception)
        body = json.loads(as_json.stdout)
        assert body["code"] == "DATABASE_NOT_READY" and "tongban migrate" in body["message"]
    finally:
        close_engine(app)


def test_an_unknown_top_level_command_is_refused_in_chinese(app):
    from app.cli import build_group
    group = build_group()
    group.create_app = lambda: app
    result = app.test_cli_runner().invoke(group, args=["nosuch"], env={"FLASK_RUN_FROM_CLI": None}, prog_name="tongban")
    assert result.exit_code == 2, (result.output, result.exception)
    assert "错误 [INVALID_INPUT]：没有子命令 nosuch" in result.output and "tongban --help" in result.output
    assert "No such command" not in result.output


# --- migrate ---------------------------------------------------------------------------------------------------

def test_migrate_on_an_already_migrated_database_is_a_no_op(runner):
    out = ok(runner.invoke(args=["migrate"]))
    assert "数据库已迁移到最新版本" in out
    ok(runner.invoke(args=["deploy"]))


def test_migrate_creates_a_brand_new_sqlite_database_and_can_run_twice(tmp_path):
    path = tmp_path / "brand-new.sqlite"
    app = make_app(f"sqlite:///{path}")
    try:
        runner = app.test_cli_runner()
        assert "数据库已迁移到最新版本" in ok(runner.invoke(args=["migrate"]))
        assert path.exists()
        assert "数据库已迁移到最新版本" in ok(runner.invoke(args=["migrate"]))
        assert "parallel_approval" in ok(runner.invoke(args=["deploy"]))
        ok(create_user(runner, "reviewer_zj"))
        assert "reviewer_zj" in ok(runner.invoke(args=["users", "list"]))
    finally:
        close_engine(app)


# --- deploy ----------------------------------------------------------------------------------------------------

def test_deploy_without_paths_deploys_the_shipped_processes_and_forms_once(runner):
    first = ok(runner.invoke(args=["deploy"]))
    process = [line for line in first.splitlines() if "parallel_approval" in line]
    assert len(process) == 1 and "v1" in process[0] and "已部署为第 1 版" in process[0], first
    for form in ("accept_application", "applicant_info", "review_opinion"):
        assert form in first
    again = ok(runner.invoke(args=["deploy"]))
    lines = [line for line in again.splitlines() if line.strip()]
    assert lines and all("未产生新版本" in line for line in lines), again
    assert "已部署" not in again


def test_deploy_json_prints_a_parsable_report(runner, app):
    report = json.loads(ok(runner.invoke(args=["deploy", "--json"])))
    rows = {(r["kind"], r["key"]): r for r in report}
    assert rows[("process", "parallel_approval")]["version"] == 1
    assert rows[("process", "parallel_approval")]["status"] == "created"
    assert all(set(r) >= {"kind", "key", "version", "status", "content_hash"} for r in report)
    again = json.loads(ok(runner.invoke(args=["deploy", "--json"])))
    assert {r["status"] for r in again} == {"unchanged"}
    assert {d["process_key"] for d in get_engine(app).queries.definitions()} >= {
        "gongcheng", "parallel_approval", "standard_permit", "budongchan_dengji", "budongchan_jiaoyi", "qiye_kaiban"}
    assert rows[("process", "standard_permit")]["status"] == "created"
    assert {key for kind, key in rows if kind == "matter"} >= {
        "11500103MB1C47082L4000321001", "11500103MB1D25937B4000118005", "GC500000-LHBL-0001"}


def test_deploy_of_a_given_path_deploys_only_that_file(runner, app):
    out = ok(runner.invoke(args=["deploy", str(DATA / "processes" / "loop.bpmn")]))
    assert "loop" in out and "已部署为第 1 版" in out
    assert "parallel_approval" not in out
    assert [(d["process_key"], d["version"]) for d in get_engine(app).queries.definitions()] == [("loop", 1)]


def test_deploy_of_a_directory_collects_its_diagrams(runner, tmp_path):
    folder = tmp_path / "matter"
    folder.mkdir()
    (folder / "loop.bpmn").write_bytes((DATA / "processes" / "loop.bpmn").read_bytes())
    (folder / "notes.txt").write_text("不是流程")
    out = ok(runner.invoke(args=["deploy", str(folder)]))
    assert "loop" in out


def test_deploy_of_a_folder_without_definitions_fails(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    err = failed(runner.invoke(args=["deploy", str(tmp_path / "empty")]))
    assert "没有找到" in err


def test_deploy_of_a_missing_path_is_a_usage_error(runner, tmp_path):
    failed(runner.invoke(args=["deploy", str(tmp_path / "nope.bpmn")]))


@pytest.mark.parametrize(("content", "finding"), [
    (XXE, "BPMN_DTD_FORBIDDEN"),
    (diagram(process_id="evil", condition="__import__('os').system('id') == 0"), "EXPRESSION_REJECTED"),
], ids=["xxe-doctype", "os-system-condition"])
def test_deploy_of_a_hostile_file_exits_2_with_the_chinese_error_and_finding(runner, app, tmp_path, content,
                                                                               finding):
    evil = tmp_path / "evil.bpmn"
    evil.write_bytes(content)
    result = runner.invoke(args=["deploy", str(evil)])
    err = failed(result)
    assert "错误 [DEFINITION_REJECTED]" in err
    assert finding in err
    if stderr_of(result) != result.output:  # stderr kept apart: the error went there, not to stdout
        assert "错误" not in result.stdout
    assert get_engine(app).queries.definitions() == []


# --- users and tokens ------------------------------------------------------------------------------------------

def test_users_create_then_list_shows_the_user(runner, app):
    assert "已创建用户 reviewer_zj" in ok(create_user(runner, "reviewer_zj"))
    ok(runner.invoke(args=["users", "create", "head_yz", "--name", "科长", "--role", "department_head",
                           "--role", "reviewer", "--district", "500103", "--department", "zhujian",
                           "--password", "long-enough-pw"]))
    listing = ok(runner.invoke(args=["users", "list"]))
    (line,) = [x for x in listing.splitlines() if x.startswith("reviewer_zj ")]
    assert "500103" in line and "zhujian" in line and "reviewer" in line
    (head,) = [x for x in listing.splitlines() if x.startswith("head_yz ")]
    assert "department_head,reviewer" in head
    identity = get_engine(app).identity
    assert identity.actor_for_password("head_yz", "long-enough-pw").roles == ("department_head", "reviewer")


def test_users_create_with_an_unknown_role_is_a_usage_error(runner, app):
    err = failed(create_user(runner, "someone", "--role", "emperor"))
    assert "emperor" in err
    assert get_engine(app).identity.list_users() == []


@pytest.mark.parametrize("args", [
    ["users", "create", "Bad Name", "--name", "x", "--role", "reviewer"],
    ["users", "create", "shorty", "--name", "x", "--role", "reviewer", "--password", "short"],
], ids=["bad-username", "short-password"])
def test_users_create_with_invalid_input_exits_2_in_chinese(runner, app, args):
    err = failed(runner.invoke(args=args))
    assert "错误 [INVALID_INPUT]" in err
    assert get_engine(app).identity.list_users() == []


def test_users_create_of_a_duplicate_exits_2_in_chinese(runner, app):
    ok(create_user(runner, "reviewer_zj"))
    err = failed(create_user(runner, "reviewer_zj"))
    assert "错误 [CONFLICT]" in err and "reviewer_zj 已存在" in err
    assert [u.username for u in get_engine(app).identity.list_users()] == ["reviewer_zj"]


def test_tokens_create_prints_a_token_that_authenticates(runner, app):
    ok(create_user(runner, "reviewer_zj"))
    token = ok(runner.invoke(args=["tokens", "create", "reviewer_zj", "--label", "测试"])).strip()
    assert token.startswith("tb_") and len(token) > 20 and "\n" not in token
    actor = get_engine(app).identity.actor_for_token(token)
    assert actor is not None
    assert (actor.username, actor.roles, actor.district, actor.department) == (
        "reviewer_zj", ("reviewer",), "500103", "zhujian")
    other = ok(runner.invoke(args=["tokens", "create", "reviewer_zj"])).strip()
    assert other != token and get_engine(app).identity.actor_for_token(other).username == "reviewer_zj"
    assert get_engine(app).identity.actor_for_token(token + "x") is None


def test_tokens_create_for_an_unknown_user_exits_2(runner):
    err = failed(runner.invoke(args=["tokens", "create", "nobody"]))
    assert "错误 [NOT_FOUND]" in err and "nobody" in err


# --- demo ------------------------------------------------------------------------------------------------------

def test_demo_seed_creates_the_demo_users_with_tokens_and_is_idempotent(runner, app):
    out = ok(runner.invoke(args=["demo", "seed"]))
    tokens_file = Path(app.instance_path) / "demo-tokens.txt"
    assert str(tokens_file) in out
    assert "演示账号" in out
    identity = get_engine(app).identity
    everyone = {u[0] for u in DEMO_USERS} | {a[0] for a in DEMO_APPLICANTS}
    assert {u.username for u in identity.list_users()} == everyone
    written = tokens_file.read_text()
    tokens = dict(line.split(" ", 1) for line in written.splitlines())
    assert set(tokens) == everyone
    assert identity.actor_for_token(tokens["applicant_zs"]).roles == ("applicant",)
    assert get_engine(app).applicant_accounts.identity("applicant_zs").verified_by == "window_yz"
    for username, token in tokens.items():
        assert token.startswith("tb_")
        assert identity.actor_for_token(token).username == username
    assert identity.actor_for_token(tokens["window_yz"]).district == "500103"

    ok(runner.invoke(args=["demo", "seed"]))
    assert tokens_file.read_text() == written
    assert len(identity.list_users()) == len(everyone)
    assert identity.actor_for_password("admin", "tongban-demo").roles == ("admin", "designer")


def test_demo_seed_keeps_users_that_already_exist(runner, app):
    ok(runner.invoke(args=["users", "create", "window_yz", "--name", "自建", "--role", "window_clerk",
                           "--district", "500103", "--department", "zwzx"]))
    ok(runner.invoke(args=["demo", "seed"]))
    users = {u.username: u for u in get_engine(app).identity.list_users()}
    assert users["window_yz"].display_name == "自建"
    assert len(users) == len(DEMO_USERS) + len(DEMO_APPLICANTS)
