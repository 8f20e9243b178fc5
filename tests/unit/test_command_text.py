"""The storable-text rule on every command (engine/command_text.py) and its two former twins.

``correlation_key`` (engine/messages.py) and the script results of the evaluator (engine/expression_guards.py)
each had their own test for U+0000 or lone surrogates; they now ask engine.storable, keeping their messages.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Mapping

import pytest

from engine import (
    Actor, ApplyOnline, CompleteTask, DecideExtension, DelegateTask, DeployDefinitions, ExpressionFailed, InvalidInput,
    MaterialInput, Party, RateCase, ReceiveApplication, StartCase, SubmitSupplement, SuspendClock,
)
from engine.bootstrap import COMMAND_HANDLERS
from engine.command_text import HANDLER_CHECKED, check_command_text, unstorable_field
from engine.commands import Command
from engine.errors import WorkflowFailed
from engine.expressions import Evaluator
from engine.messages import correlation_key

CHINESE = re.compile(r"[\u4e00-\u9fff]")
REVIEWER = Actor("reviewer_zj", ("reviewer",), "500103", "zhujian")
COMPANY = Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ", legal_representative="王五")


def refusal(command: Command) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        check_command_text(command)
    assert refused.value.code == "INVALID_INPUT" and CHINESE.search(refused.value.message)
    return refused.value


@pytest.mark.parametrize(("command", "field", "reason"), [
    (DelegateTask(1, REVIEWER, "reviewer_zj2", "休假\x00"), "reason", "nul"),
    (DelegateTask(1, REVIEWER, "reviewer\ud800", "休假"), "to", "unicode"),
    (SuspendClock(1, REVIEWER, "correction", "补正", clocks=("legal", "committed\x00")), "clocks.1", "nul"),
    (DecideExtension(1, Actor("head\x00", ("department_head",)), False, "理由不充分"), "actor.username", "nul"),
    (DecideExtension(1, Actor("head", ("department_head", "re\udcffviewer")), True), "actor.roles.1", "unicode"),
    (RateCase(1, REVIEWER, 5, "4", "态度差\x00"), "comment", "nul"),
    (ReceiveApplication("M1", REVIEWER, Party("person", "张\x00三"), "13800138000"), "applicant.name", "nul"),
    (ReceiveApplication("M1", REVIEWER, COMPANY, "13800138000", agent=Party("entrusted", "李四", authorization="\ud800")),
     "agent.authorization", "unicode"),
    (ApplyOnline("M1", REVIEWER, None, "13800138000", (MaterialInput("a", io.BytesIO(b"%PDF"), "a.pdf"),
                                                        MaterialInput("b", io.BytesIO(b"%PDF"), "b\x00.pdf"))),
     "materials.1.filename", "nul"),
    (SubmitSupplement(1, REVIEWER, (MaterialInput("a", license_ref="LIC\ud800"),)), "materials.0.license_ref",
     "unicode"),
    (SubmitSupplement(1, REVIEWER, (), note="已补\x00"), "note", "nul"),
], ids=["reason", "delegate-to", "clock-name", "actor", "actor-role", "comment", "party", "agent", "file-name",
        "license-ref", "note"])
def test_text_no_database_stores_is_refused_naming_its_field(command, field, reason):
    error = refusal(command)
    assert error.details["field"] == field and error.details["reason"] == reason
    assert error.details["fields"] == {field: [error.message]}
    assert error.message.startswith(f"{field} 字段") and error.message.endswith("无法保存"), error.message


def test_the_first_bad_field_in_declaration_order_is_named():
    error = refusal(DelegateTask(1, Actor("a\x00"), "b\x00", "c\x00"))
    assert error.details["field"] == "actor.username"


def test_a_mapping_field_is_walked_keys_and_all_and_the_path_is_shown_visibly():
    @dataclass(frozen=True)
    class Annotate(Command):
        actor: Actor
        notes: Mapping[str, Any]

    assert unstorable_field(Annotate(REVIEWER, MappingProxyType({"a": ["ok", {"b": "x\x00"}]}))).path == (
        "notes", "a", 1, "b")
    error = refusal(Annotate(REVIEWER, {"k\x00ey": 1}))
    assert error.details["field"] == "notes.k\\u0000ey" and "\x00" not in error.message


def test_bytes_and_uploaded_files_are_not_text_and_pass():
    pdf = io.BytesIO(b"%PDF-1.7\n\x00\x00")
    check_command_text(SubmitSupplement(1, REVIEWER, (MaterialInput("a", pdf, "申请表.pdf"),), note="已补齐"))
    assert pdf.tell() == 0   # not read
    check_command_text(DeployDefinitions((("a.bpmn", b"<x>\x00</x>"),), (("f.form", b"\x00"),)))


@pytest.mark.parametrize("command", [
    CompleteTask(1, REVIEWER, {"opinion": "同意\x00"}),
    StartCase("p", REVIEWER, {"applicant": "\ud800"}, title="标题\x00"),
    ReceiveApplication("M1", REVIEWER, COMPANY, "13800138000", form={"note": "\x00"}),
    ApplyOnline("M1", REVIEWER, None, "13800138000", form={"note": "\ud800"}),
    DeployDefinitions((("a\x00.bpmn", b""),)),
], ids=["form-data", "start", "application-form", "online-form", "file-name"])
def test_fields_a_handler_refuses_more_precisely_are_left_to_it(command):
    # FORM_INVALID, StartCase's labelled fields, APPLICATION_INVALID form.<key>, lint's FILE_NAME_UNSAFE.
    check_command_text(command)


def test_the_handler_checked_fields_name_fields_that_exist():
    for kind, names in HANDLER_CHECKED.items():
        assert kind in COMMAND_HANDLERS and names <= {f.name for f in fields(kind)}, kind


def test_ordinary_text_passes():
    check_command_text(DelegateTask(1, REVIEWER, "reviewer_zj2", "休假\u3000转同事办理，见附件（第 2 页）🗓\n\t"))
    check_command_text(ReceiveApplication("M1", REVIEWER, COMPANY, "13800138000",
                                          (MaterialInput("a", io.BytesIO(b"%PDF"), "申请表.pdf"),)))


def test_a_completions_form_data_is_left_to_its_form():
    """CompleteTask's data is the form's to refuse (FORM_INVALID naming the form field): not walked here."""
    check_command_text(CompleteTask(17, REVIEWER, {"opinion": "同意\x00", "items": [{"name": "\ud800"}]}))


# --- the two former twins ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "says"), [
    ("TB\x001", "含有空字符（U+0000），无法保存"),
    ("TB\ud8001", "含有无法保存的字符（单独的代理码位）"),
    ("TB\x00\ud800", "含有空字符（U+0000），无法保存"),   # the first bad character decides (was: the surrogate)
])
def test_a_correlation_key_asks_the_storable_rule_and_keeps_its_words(value, says):
    with pytest.raises(WorkflowFailed) as info:
        correlation_key(value, "send")
    assert info.value.message == f"元素 send 的消息关联键{says}"


@pytest.mark.parametrize(("script", "says"), [
    ("x = 'a' + chr(0) + 'b'", "脚本变量 'x' 的文本含有空字符（U+0000），无法保存"),
    ("x = 'ab\\x00'", "脚本变量 'x' 的文本含有空字符（U+0000），无法保存"),
    ("x = {'k\\x00': 1}", "脚本变量 'x' 的文本含有空字符（U+0000），无法保存"),
    ("x = ['ok', '\\ud800']", "脚本变量 'x' 的文本含有无法保存的字符（孤立的代理码位）"),
], ids=["chr", "literal", "key", "surrogate"])
def test_a_script_result_holding_text_no_database_stores_fails_the_evaluation(script, says):
    # A NUL went through _plain (it checked surrogates only, and skipped ASCII text): on PostgreSQL the step
    # then failed with a bare DataError where the value reached a column (a task's applicant); SQLite stored it.
    evaluator = Evaluator({"chr": chr}) if "chr" in script else Evaluator()
    with pytest.raises(ExpressionFailed) as info:
        evaluator.execute(script, {})
    assert info.value.message == says
    assert info.value.details["reason"] == "value" and info.value.details["name"] == "x"


def test_script_results_of_ordinary_text_pass_unchanged():
    names: dict[str, Any] = {}
    Evaluator().execute("a = 'plain'\nb = '中文 🗓'\nc = {'k': ['v', 'w']}", names)
    assert names == {"a": "plain", "b": "中文 🗓", "c": {"k": ["v", "w"]}}
