"""Text no database stores (U+0000, a lone surrogate) given to the engine services that are not commands.

``Engine.handle`` checks every command's text (:mod:`engine.command_text`) and the API every JSON body
(:mod:`app.json_body`), but users, tokens, applicant accounts, grants, drafts, message administration, the
calendar's import and the organisation's load take their text directly, from the ``tongban`` CLI and from Python
callers. Before :func:`engine.storable.refuse_unstorable` they stored a NUL on SQLite, raised a bare psycopg
``DataError`` on PostgreSQL, and raised ``UnicodeEncodeError`` on both for a lone surrogate (a CLI argument
holding a byte that is not UTF-8 arrives as one, e.g. ``\\udcff``). Now each is ``INVALID_INPUT`` naming the
field, before anything is read or written, on both databases.
"""
from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Callable

import pytest
from flask.testing import FlaskCliRunner

from engine import EngineError, OrgFile, calendar_years, import_calendar_year, parse_schedule
from engine.org_file import UserRow
from tests.conftest import DATA
from tests.helpers import deploy_shipped

from .test_cli import failed

CHINESE = re.compile(r"[\u4e00-\u9fff]")
BAD = {"nul": "张\x00三", "surrogate": "张\ud800三", "undecodable-byte": "张\udcff三"}
CODE = "11500103MB1D25937B4000117001"   # the shipped 施工许可 matter, owned by 渝中区 500103
YUZHONG, WANZHOU = "500103", "500101"
CALENDAR_2027 = DATA / "calendar" / "2027.yaml"


def refused(call: Callable[[], Any], field: str, text: str) -> EngineError:
    """Assert ``call`` is refused as INVALID_INPUT naming ``field``, in Chinese, and return the error."""
    with pytest.raises(EngineError) as caught:
        call()
    error = caught.value
    assert (error.code, error.details.get("field")) == ("INVALID_INPUT", field), error.to_dict()
    assert error.details["reason"] == ("nul" if "\x00" in text else "unicode")
    assert error.details["fields"] == {field: [error.message]}
    assert CHINESE.search(error.message) and field in error.message, error.message
    return error


def usernames(engine) -> list[str]:
    return sorted(u.username for u in engine.identity.list_users())


@pytest.fixture
def admin(engine):
    engine.identity.create_user("admin", display_name="管理员", roles=("admin",))
    return engine.identity.actor_for_username("admin")


# --- the services ---------------------------------------------------------------------------------------------

USER_FIELDS = {
    "name": lambda t: {"display_name": t},
    "district": lambda t: {"district": t},
    "department": lambda t: {"department": t},
    "password": lambda t: {"password": f"secret-{t}"},
    "id_number": lambda t: {"id_number": t},
    "roles.1": lambda t: {"roles": ("reviewer", t)},
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", USER_FIELDS)
def test_creating_a_user_with_such_text_is_refused_and_creates_nothing(engine, field, text):
    given = {"display_name": "住建审查", "roles": ("reviewer",), "district": YUZHONG, "department": "zhujian",
             **USER_FIELDS[field](text)}
    before = usernames(engine)
    refused(lambda: engine.identity.create_user("u_new", **given), field, text)
    assert usernames(engine) == before


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_a_token_label_and_a_user_list_filter_with_such_text_are_refused(engine, text):
    engine.identity.create_user("u_tok", display_name="令牌", roles=("auditor",))
    refused(lambda: engine.identity.create_token("u_tok", label=text), "label", text)
    refused(lambda: engine.identity.list_users(district=text), "district", text)


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_no_user_has_a_name_no_database_stores(engine, text):
    # The CLI's --actor/--as options look their user up first: an unknown user, not a driver error.
    assert engine.identity.actor_for_username(text) is None


APPLICANT_FIELDS = ("name", "id_number", "verified_by", "password")


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", APPLICANT_FIELDS)
def test_an_applicant_account_with_such_text_is_refused_and_opens_nothing(engine, admin, field, text):
    given = {"name": "张三", "id_type": "111", "id_number": "500103198506120317", "verified_by": "admin",
             "password": "secret-123", field: text}
    refused(lambda: engine.applicant_accounts.add("zhangsan", **given), field, text)
    assert engine.applicant_accounts.list() == []


GRANT_FIELDS = ("basis", "matter_code", "owning", "receiving", "actor")


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", GRANT_FIELDS)
def test_a_grant_with_such_text_is_refused_and_adds_nothing(engine, field, text):
    deploy_shipped(engine)
    given = {"matter_code": CODE, "owning": YUZHONG, "receiving": WANZHOU, "rights": ["receive"],
             "basis": "渝府办发〔2022〕25号", "actor": "admin", field: text}
    refused(lambda: engine.grants.add(**given), field, text)
    assert engine.grants.list(include_revoked=True) == []


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_revoking_a_grant_with_such_a_reason_or_actor_is_refused_and_it_stays_in_force(engine, text):
    deploy_shipped(engine)
    grant = engine.grants.add(matter_code=CODE, owning=YUZHONG, receiving=WANZHOU, rights=["receive"],
                              actor="admin")
    refused(lambda: engine.grants.revoke(grant.id, actor="admin", reason=text), "reason", text)
    refused(lambda: engine.grants.revoke(grant.id, actor=text, reason="授权期满"), "actor", text)
    refused(lambda: engine.grants.list(district=text), "district", text)
    refused(lambda: engine.grants.list(matter_code=text), "matter_code", text)
    assert [g.revoked for g in engine.grants.list(include_revoked=True)] == [False]


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("action", ["retry", "discard"])
def test_resolving_a_message_with_such_a_reason_is_refused_before_the_message_is_read(engine, admin, action, text):
    # Message 999 does not exist: the text is refused first (INVALID_INPUT, not NOT_FOUND).
    refused(lambda: getattr(engine.messages, action)(999, admin, text), "reason", text)


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("key", ["name", "correlation_key", "payload"])
def test_an_envelope_with_such_text_is_refused_and_neither_queued_nor_recorded(engine, key, text):
    envelope = {"idempotency_key": "ext-1", "name": "材料补齐", "payload": {"note": "ok"}, "signature": "x" * 64,
                key: {"note": text} if key == "payload" else text}
    field = "envelope.payload.note" if key == "payload" else f"envelope.{key}"
    refused(lambda: engine.messages.submit(envelope, source="cli:x.json"), field, text)
    refused(lambda: engine.messages.submit({**envelope, key: "ok"}, source=f"cli:{text}"), "source", text)
    assert engine.messages.list() == [] and engine.messages.rejections() == []


DRAFT_FIELDS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "bpmn": lambda blank, t: {"bpmn": blank.replace('name="收件"', f'name="收件{t}"')},
    "forms.f1.components.0.label": lambda blank, t: {
        "forms": {"f1": {"id": "f1", "components": [{"type": "textfield", "key": "a", "label": t}]}}},
    "actor": lambda blank, t: {"actor": t},
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", DRAFT_FIELDS)
def test_a_draft_with_such_text_is_refused_on_create_and_on_update(engine, field, text):
    drafts = engine.drafts
    blank = drafts.blank("p_text")
    given = {"bpmn": blank, "actor": "designer", **DRAFT_FIELDS[field](blank, text)}
    refused(lambda: drafts.create(process_key="p_text", **given), field, text)
    assert drafts.list() == []
    draft = drafts.create(process_key="p_text", bpmn=blank, actor="designer")
    update = {k: v for k, v in DRAFT_FIELDS[field](blank, text).items()}
    refused(lambda: drafts.update(draft.id, revision=1, actor=update.pop("actor", "designer"), **update),
            field, text)
    assert [d.revision for d in drafts.list()] == [1] and drafts.get(draft.id).bpmn == blank
    refused(lambda: drafts.list(text), "process_key", text)


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", ["source", "actor", "notes.2027-02-06"])
def test_a_calendar_import_with_such_text_is_refused_and_loads_nothing(engine, field, text):
    schedule = parse_schedule(CALENDAR_2027.read_text(encoding="utf-8"), "yaml")
    if field == "source":
        schedule = type(schedule)(schedule.year, text, schedule.facts)
    elif field.startswith("notes."):
        day = date.fromisoformat(field.split(".", 1)[1])
        facts = dict(schedule.facts)
        facts[day] = type(facts[day])(facts[day].kind, text)
        schedule = type(schedule)(schedule.year, schedule.source, facts)
    refused(lambda: import_calendar_year(engine, schedule, actor=text if field == "actor" else "admin"),
            field, text)
    assert 2027 not in [info.year for info in calendar_years(engine)]


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_an_organisation_with_such_text_is_refused_and_nothing_is_loaded(engine, text):
    org = OrgFile(users=(UserRow("u_org", text, ("designer",)),))
    refused(lambda: engine.org.load(org), "users.0.display_name", text)
    refused(lambda: engine.org.load(org, dry_run=True), "users.0.display_name", text)
    assert "u_org" not in usernames(engine)


# --- the command line -----------------------------------------------------------------------------------------

CLI_TEXT = {"nul": "张\x00三", "undecodable-byte": "张\udcff三"}
"""What a shell hands over: $'\\x00' (Click passes it through) and a byte that is not UTF-8 (surrogateescape)."""


def refused_on_cli(result, field: str) -> str:
    said = failed(result)
    assert "INVALID_INPUT" in said and field in said and CHINESE.search(said), said
    return said


@pytest.fixture
def cli(engine, runner: FlaskCliRunner, admin, tmp_path) -> FlaskCliRunner:
    # The fixture's CSV without its "# source:" line, so that --source is the source used.
    shipped = (DATA / "calendar" / "2027.csv").read_text(encoding="utf-8").splitlines(True)
    (tmp_path / "unsourced.csv").write_text("".join(line for line in shipped if not line.startswith("# source:")),
                                            encoding="utf-8")
    deploy_shipped(engine)
    engine.identity.create_user("u_tok", display_name="令牌", roles=("auditor",))
    return runner


CLI_COMMANDS: dict[str, tuple[Callable[[str], list[str]], str]] = {
    # "{tmp}" stands for the test's tmp_path.
    "users-create-name": (lambda t: ["users", "create", "u_cli", "--name", t, "--role", "auditor"], "name"),
    "users-create-password": (lambda t: ["users", "create", "u_cli", "--name", "张三", "--role", "auditor",
                                         "--password", f"secret-{t}"], "password"),
    "users-list-district": (lambda t: ["users", "list", "--district", t], "district"),
    "tokens-create-label": (lambda t: ["tokens", "create", "u_tok", "--label", t], "label"),
    "applicants-add-name": (lambda t: ["applicants", "add", "zhangsan", "--name", t, "--id-number",
                                       "500103198506120317", "--verified-by", "admin"], "name"),
    "grants-add-basis": (lambda t: ["grants", "add", "--matter", CODE, "--owning", YUZHONG, "--receiving", WANZHOU,
                                    "--right", "receive", "--basis", t], "basis"),
    "grants-add-receiving": (lambda t: ["grants", "add", "--matter", CODE, "--owning", YUZHONG, "--receiving", t,
                                        "--right", "receive"], "receiving"),
    "grants-revoke-reason": (lambda t: ["grants", "revoke", "1", "--reason", t], "reason"),
    "messages-retry-reason": (lambda t: ["messages", "retry", "1", "--reason", t], "reason"),
    "messages-discard-reason": (lambda t: ["messages", "discard", "1", "--reason", t], "reason"),
    "calendar-import-source": (lambda t: ["calendar", "import", "{tmp}/unsourced.csv", "--source", t], "source"),
    "calendar-import-actor": (lambda t: ["calendar", "import", str(CALENDAR_2027), "--actor", t], "actor"),
}


@pytest.mark.parametrize("text", CLI_TEXT.values(), ids=CLI_TEXT.keys())
@pytest.mark.parametrize("name", CLI_COMMANDS)
def test_the_cli_refuses_such_an_argument_with_exit_2_and_a_chinese_message(engine, cli, tmp_path, name, text):
    args, field = CLI_COMMANDS[name]
    before = usernames(engine)
    refused_on_cli(cli.invoke(args=[a.replace("{tmp}", str(tmp_path)) for a in args(text)]), field)
    assert usernames(engine) == before
    assert engine.grants.list(include_revoked=True) == [] and engine.applicant_accounts.list() == []
    assert 2027 not in [info.year for info in calendar_years(engine)]


@pytest.mark.parametrize("text", CLI_TEXT.values(), ids=CLI_TEXT.keys())
@pytest.mark.parametrize("args", [["grants", "revoke", "1", "--reason", "期满", "--actor"],
                                  ["messages", "retry", "1", "--reason", "重试", "--actor"],
                                  ["drafts", "deploy", "1", "--actor"]], ids=["grants", "messages", "drafts"])
def test_an_actor_no_database_stores_is_an_unknown_user_on_the_cli(cli, args, text):
    said = failed(cli.invoke(args=[*args, text]))
    assert "UNKNOWN_USER" in said and CHINESE.search(said), said


@pytest.mark.parametrize("text", CLI_TEXT.values(), ids=CLI_TEXT.keys())
@pytest.mark.parametrize("args", [["grants", "list", "--json", "--district"], ["drafts", "list", "--json", "--key"]],
                         ids=["grants", "drafts"])
def test_a_json_listing_refuses_such_a_filter_as_json(cli, args, text):
    result = cli.invoke(args=[*args, text])
    assert result.exit_code == 2, (result.output, result.exception)
    shown = json.loads(result.stdout)
    assert shown["code"] == "INVALID_INPUT" and CHINESE.search(shown["message"]), shown


def test_a_draft_form_file_holding_a_nul_escape_is_refused(cli, engine, tmp_path):
    bpmn = tmp_path / "p.bpmn"
    bpmn.write_text(engine.drafts.blank("p_cli"), encoding="utf-8")
    form = tmp_path / "f1.form"
    form.write_text('{"id": "f1", "components": [{"type": "textfield", "key": "a", "label": "A\\u0000"}]}',
                    encoding="utf-8")
    engine.identity.create_user("designer", display_name="设计", roles=("designer",))
    refused_on_cli(cli.invoke(args=["drafts", "save", "p_cli", str(bpmn), "--form", str(form)]),
                   "forms.f1.components.0.label")
    assert engine.drafts.list() == []


@pytest.mark.parametrize("content", ['users:\n  - {username: u_org, name: "张\\0三", roles: [designer]}\n',
                                     'users:\n  - {username: u_org, name: "张\\ud800三", roles: [designer]}\n',
                                     "type,code,name,kind,parent,district,department,roles,id_number\n"
                                     "user,u_org,张\x00三,,,,,designer,\n"], ids=["yaml-nul", "yaml-surrogate", "csv-nul"])
def test_an_organisation_file_holding_such_text_is_refused_naming_its_line(cli, engine, tmp_path, content):
    path = tmp_path / ("org.csv" if content.startswith("type") else "org.yaml")
    path.write_text(content, encoding="utf-8")
    said = failed(cli.invoke(args=["org", "load", str(path)]))
    assert "ORG_FILE_INVALID" in said and "第 2 行" in said and CHINESE.search(said), said
    assert "u_org" not in usernames(engine)
