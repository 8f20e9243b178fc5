"""Text no database stores (U+0000, a lone surrogate) in a command that does not come through HTTP.

The API refuses such text in a JSON body (400 ``BAD_REQUEST``), but the CLI, the worker, dry runs, replay and
Python callers hand commands to ``Engine.handle`` directly. Before ``engine/command_text.py`` only the fields
a handler happened to pass through ``check_variables`` or a form were checked: every other free-text field
(a reason, a comment, an opinion, a delegate target, a party's name, the actor's name) went to the database
as it was: SQLite stored the NUL, PostgreSQL raised a bare psycopg ``DataError`` (a 500 over HTTP, a
traceback on the CLI), and a lone surrogate raised ``UnicodeEncodeError`` while the audit event was hashed.
Now each is ``INVALID_INPUT`` naming the field, on both databases, and nothing is written.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from app import create_app
from app.runtime import get_engine
from engine import (
    Actor, ClaimTask, CloseSupervision, CompleteTask, DecideExtension, DelegateTask, DeployDefinitions, EngineError,
    ExpressionFailed, ExtendDeadline, FormInvalid, InvalidInput, MaterialInput, Party, RateCase, ReceiveApplication, RecomputeDeadlines,
    RequestExtension, ResumeClock, ReturnTask, StartCase, SuspendClock, TimerWorker, ensure_calendar_seeded,
)
from tests.bpmn_factory import diagram
from tests.helpers import ACCEPT, CLERK, GUIHUA, ZHUJIAN, ZHUJIAN_2, deploy_shipped, open_task
from tests.integration.test_intake import counts, full_checklist
from tests.rating_helpers import closed_case

from .test_cli import failed

CHINESE = re.compile(r"[\u4e00-\u9fff]")
HEAD = Actor("head_zj", ("department_head", "reviewer"), "500103", "zhujian")
SUPERVISOR = Actor("super_yz", ("supervisor",), "500103", None)
NUL, SURROGATE = "理由\x00后半", "理由\ud800"
BAD = {"nul": NUL, "surrogate": SURROGATE}


@dataclass
class InReview:
    """A parallel approval case past 受理 (its clocks running): 住建's review claimed, 规划's open, a 法定时限
    extension request open."""

    engine: Any
    case_id: int
    review_id: int
    other_review_id: int
    request_id: int

    def written(self) -> tuple[int, int]:
        """What a refused command must leave alone: the case's events and its row version."""
        case = self.engine.queries.case(CLERK, self.case_id)
        return len(self.engine.queries.events(self.case_id)), case["version"]


@pytest.fixture
def in_review(engine) -> InReview:
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    for actor in (HEAD, ZHUJIAN_2):
        engine.identity.create_user(actor.username, display_name=actor.username, roles=actor.roles,
                                    district=actor.district, department=actor.department)
    case_id = engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": "重庆某建设有限公司"})).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    request = engine.handle(RequestExtension(case_id, CLERK, 5, "需现场核查"))
    review_id = open_task(engine, ZHUJIAN, "review_zhujian")["id"]
    engine.handle(ClaimTask(review_id, ZHUJIAN))
    return InReview(engine, case_id, review_id, open_task(engine, GUIHUA, "review_guihua")["id"], request["id"])


BadCommand = Callable[[InReview, str], Any]
COMMANDS: dict[str, tuple[BadCommand, str]] = {
    "delegate-reason": (lambda c, t: DelegateTask(c.review_id, ZHUJIAN, ZHUJIAN_2.username, t), "reason"),
    "delegate-to": (lambda c, t: DelegateTask(c.review_id, ZHUJIAN, t, "休假，转同事办理"), "to"),
    "return-reason": (lambda c, t: ReturnTask(c.review_id, ZHUJIAN, t), "reason"),
    "suspend-reason": (lambda c, t: SuspendClock(c.case_id, CLERK, "correction", t), "reason"),
    "suspend-procedure": (lambda c, t: SuspendClock(c.case_id, CLERK, "special_procedure", "专家评审", procedure=t,
                                                    expected_days=10), "procedure"),
    "resume-clocks": (lambda c, t: ResumeClock(c.case_id, CLERK, ("legal", t)), "clocks.1"),
    "extend-reason": (lambda c, t: ExtendDeadline(c.case_id, HEAD, 5, t, clock="committed"), "reason"),
    "extend-approver": (lambda c, t: ExtendDeadline(c.case_id, HEAD, 5, "案情复杂", approved_by=t, clock="committed",
                                                    on_record=True), "approved_by"),
    "request-reason": (lambda c, t: RequestExtension(c.case_id, CLERK, 5, t, clock="committed"), "reason"),
    "decide-comment": (lambda c, t: DecideExtension(c.request_id, HEAD, False, t), "comment"),
    "recompute-reason": (lambda c, t: RecomputeDeadlines(c.case_id, t), "reason"),
    "claim-actor": (lambda c, t: ClaimTask(c.other_review_id, Actor(t, ("reviewer",), "500103", "guihua")),
                    "actor.username"),
    "start-actor": (lambda c, t: StartCase("parallel_approval", Actor(t, ("window_clerk",), "500103", "zwzx")),
                    "actor.username"),
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_with_text_no_database_stores_is_invalid_input_naming_the_field(in_review, name, text):
    build, field = COMMANDS[name]
    before = in_review.written()
    with pytest.raises(EngineError) as refused:
        in_review.engine.handle(build(in_review, text))
    error = refused.value
    assert (error.code, error.details["field"]) == ("INVALID_INPUT", field), error.to_dict()
    assert error.details["reason"] == ("nul" if "\x00" in text else "unicode")
    assert CHINESE.search(error.message) and field in error.message, error.message
    assert in_review.written() == before
    assert [r["id"] for r in in_review.engine.queries.extension_requests(CLERK, case_id=in_review.case_id)] == [
        in_review.request_id]


def test_the_same_commands_with_storable_text_still_run(in_review):
    """The check refuses the bad text only: the commands above run once the text is fixed (no false alarm)."""
    engine = in_review.engine
    engine.handle(DecideExtension(in_review.request_id, HEAD, False, "理由不充分"))
    engine.handle(ExtendDeadline(in_review.case_id, HEAD, 5, "案情复杂\n需专家论证", clock="committed"))
    engine.handle(ClaimTask(in_review.other_review_id, GUIHUA))
    engine.handle(DelegateTask(in_review.review_id, ZHUJIAN, ZHUJIAN_2.username, "休假\u3000转同事办理"))
    engine.handle(SuspendClock(in_review.case_id, CLERK, "correction", "补正：缺土地证明（第 2 页）"))
    engine.handle(ResumeClock(in_review.case_id, CLERK))
    engine.handle(RecomputeDeadlines(in_review.case_id, "节假日安排更新 🗓"))


def test_form_data_keeps_its_form_invalid_refusal(in_review):
    # CompleteTask.data is left to the form (engine/forms.py), which names the form field: FORM_INVALID.
    engine = in_review.engine
    before = in_review.written()
    with pytest.raises(FormInvalid) as refused:
        engine.handle(CompleteTask(in_review.review_id, ZHUJIAN, {"approved": "approve", "opinion": NUL}))
    assert "opinion" in refused.value.details["fields"]
    assert in_review.written() == before


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_closing_a_supervision_item_with_such_an_opinion_is_refused(engine, clock, text):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    clock.advance(days=120)
    TimerWorker(engine).sweep()
    item = engine.queries.supervision(SUPERVISOR)[0]
    events = len(engine.queries.events(case_id))
    with pytest.raises(InvalidInput) as refused:
        engine.handle(CloseSupervision(item["id"], SUPERVISOR, text))
    assert refused.value.details["field"] == "opinion"
    assert len(engine.queries.events(case_id)) == events
    assert engine.queries.supervision(SUPERVISOR)[0]["state"] == "open"


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_rating_a_case_with_such_a_comment_is_refused(engine, text):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case = closed_case(engine)
    window = Actor("window_yz", ("window_clerk",), "500103", "zwzx")
    with pytest.raises(InvalidInput) as refused:
        engine.handle(RateCase(case.case_id, window, 2, "4", text))
    assert (refused.value.code, refused.value.details["field"]) == ("INVALID_INPUT", "comment")
    assert engine.ratings.of_case(case.case_id) is None


RECEIVED: dict[str, tuple[Callable[[str], dict[str, Any]], str]] = {
    "applicant-name": (lambda t: {"applicant": Party("person", t, "111", "500103198506120317")}, "applicant.name"),
    "matter-code": (lambda t: {"matter_code": f"11500103MB1D25937B4000117001{t}"}, "matter_code"),
    "file-name": (lambda t: {"materials": full_checklist(
        application_form=MaterialInput("application_form", io.BytesIO(b"%PDF-1.7\n"), f"申请表{t}.pdf"))},
        "materials.0.filename"),
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("name", RECEIVED)
def test_an_application_with_such_text_is_refused_and_stores_nothing(engine, name, text):
    deploy_shipped(engine)
    build, field = RECEIVED[name]
    fields = {"matter_code": "11500103MB1D25937B4000117001", "actor": CLERK, "contact_phone": "13800138000",
              "applicant": Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ",
                                 legal_representative="王五"),
              "materials": full_checklist(), **build(text)}
    before = counts(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.handle(ReceiveApplication(**fields))
    assert (refused.value.code, refused.value.details["field"]) == ("INVALID_INPUT", field)
    assert counts(engine) == before


# --- the command line -----------------------------------------------------------------------------------------

@pytest.fixture
def app(database_url: str, clock, tmp_path) -> Iterator[Flask]:
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials")})
    engine = get_engine(application)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.identity.create_user("window_yz", display_name="窗口", roles=("window_clerk",), district="500103",
                                department="zwzx")
    yield application
    engine.close()


@pytest.mark.parametrize("text", ["满意\x00", "满意\udcff"], ids=["nul", "undecodable-byte"])
def test_tongban_ratings_add_refuses_such_a_comment_with_a_chinese_message(app, text):
    # An argument holding a byte that is not UTF-8 reaches Python as a lone surrogate (surrogateescape):
    # `tongban ratings add … --comment $'\xff'` is the everyday way to this.
    runner: FlaskCliRunner = app.test_cli_runner()
    case = closed_case(get_engine(app))
    result = runner.invoke(args=["ratings", "add", case.case_no, "--score", "2", "--channel", "4",
                                 "--comment", text, "--as", "window_yz"])
    said = failed(result)
    assert "INVALID_INPUT" in said and "comment" in said and CHINESE.search(said), said
    assert get_engine(app).ratings.of_case(case.case_id) is None


# --- a script result ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("script", ["applicant = 'a\\x00b'", "x = {'k\\x00': 1}"], ids=["value", "key"])
def test_a_script_setting_a_nul_fails_the_step_with_expression_failed_and_starts_nothing(engine, script):
    # engine/expression_guards.py _text let a NUL through (it checked surrogates only): the case started on
    # SQLite with the NUL stored, and on PostgreSQL inserting the task row (its applicant column) raised a bare
    # psycopg DataError.
    engine.handle(DeployDefinitions((("s.bpmn", diagram(process_id="nul_script", script=script)),)))
    with pytest.raises(ExpressionFailed) as refused:
        engine.handle(StartCase("nul_script", ZHUJIAN))
    assert refused.value.code == "EXPRESSION_FAILED" and "U+0000" in refused.value.message
    assert engine.queries.tasks(ZHUJIAN, limit=10).items == []
