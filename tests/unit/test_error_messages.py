"""Chinese messages without a database: marshmallow's defaults, the JSON body loader, and parser findings."""
from __future__ import annotations

import re

import pytest
from marshmallow import Schema, fields, validate

from app.errors import UNTRANSLATED, translate
from app.json_body import MAX_DEPTH, JsonNotValid, loads
from engine import DefinitionRejected, ExpressionRejected, InvalidInput
from engine.catalog import load_yaml
from engine.expressions import Evaluator
from engine.forms import parse_form
from engine.variables import check_variables
from tests.bpmn_factory import diagram
from tests.unit.test_lint import flow, lint, process, task

CHINESE = re.compile(r"[\u4e00-\u9fff]")


class EveryField(Schema):
    """One field of each kind the app's schemas use (and a few more), each given a value it refuses."""

    between = fields.Integer(validate=validate.Range(min=1, max=9))
    exclusive = fields.Integer(validate=validate.Range(min=1, max=9, min_inclusive=False, max_inclusive=False))
    at_most = fields.Integer(validate=validate.Range(max=9))
    above = fields.Integer(validate=validate.Range(min=1, min_inclusive=False))
    exactly = fields.String(validate=validate.Length(equal=3))
    length = fields.String(validate=validate.Length(min=1, max=3))
    pair = fields.Tuple((fields.Integer(), fields.Integer()))
    email = fields.Email()
    url = fields.URL()
    uuid = fields.UUID()
    naive = fields.NaiveDateTime()
    aware = fields.AwareDateTime()
    when = fields.DateTime()
    day = fields.Date()
    hour = fields.Time()
    span = fields.TimeDelta()
    ratio = fields.Float(allow_nan=False)
    nested = fields.Nested(Schema.from_dict({"x": fields.Integer()}))
    choices = fields.List(fields.String(validate=validate.OneOf(["a", "b"])))
    mapping = fields.Dict()
    flag = fields.Boolean()
    whole = fields.Integer(strict=True)
    address = fields.IP()
    code = fields.String(validate=validate.Regexp(r"^\d+$"))
    subset = fields.List(fields.String(), validate=validate.ContainsOnly(["a"]))
    same = fields.String(validate=validate.Equal("x"))
    needed = fields.String(required=True)
    never_null = fields.String(allow_none=False)


BAD = {"between": 0, "exclusive": 9, "at_most": 10, "above": 1, "exactly": "ab", "length": "", "pair": 1,
       "email": "x", "url": "x", "uuid": "x", "naive": "2026-12-01T00:00:00+08:00", "aware": "2026-12-01T00:00:00",
       "when": "soon", "day": "bad", "hour": "x", "span": "x", "ratio": "nan", "nested": 5, "choices": ["z"],
       "mapping": 1, "flag": "maybe", "whole": 1.5, "address": "x", "code": "x", "subset": ["b"], "same": "y",
       "never_null": None, "unknown": 1}


def leaves(tree):
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in leaves(value)]
    if isinstance(tree, list):
        return [leaf for value in tree for leaf in leaves(value)]
    return [tree]


def test_every_marshmallow_default_message_is_translated():
    errors = EveryField().validate(BAD)
    assert len(errors) == len(BAD) + 1   # every value is refused, and "needed" is missing
    translated = translate(errors)
    untranslated = [m for m in leaves(translated) if not CHINESE.search(m) or m == UNTRANSLATED]
    assert untranslated == [], untranslated
    assert translated == {
        "between": ["应在 1 到 9 之间"], "exclusive": ["应大于 1 且小于 9"], "at_most": ["不能大于 9"],
        "above": ["应大于 1"], "exactly": ["长度应为 3"], "length": ["长度应在 1 到 3 之间"],
        "pair": ["应为固定长度的列表"], "email": ["应为有效的电子邮件地址"], "url": ["应为有效的网址"],
        "uuid": ["应为 UUID"], "naive": ["日期时间不应带时区，如 2026-12-01T09:00:00"],
        "aware": ["日期时间应带时区，如 2026-12-01T09:00:00+08:00"], "when": ["日期时间格式不正确"],
        "day": ["日期格式不正确，应为 YYYY-MM-DD"], "hour": ["时间格式不正确，应为 HH:MM:SS"],
        "span": ["时长格式不正确"], "ratio": ["不允许 NaN 或无穷大"], "nested": {"_schema": ["类型不正确"]},
        "choices": {0: ["应为以下之一：a, b"]}, "mapping": ["应为对象"], "flag": ["应为布尔值"],
        "whole": ["应为整数"], "address": ["应为有效的 IP 地址"], "code": ["格式不正确"],
        "subset": ["所选项只能是：a"], "same": ["应等于 x"], "needed": ["必填项"], "never_null": ["不能为空"],
        "unknown": ["未知字段"]}


@pytest.mark.parametrize(("english", "chinese"), [
    ("Must be greater than or equal to 1.", "不能小于 1"),
    ("Must be less than 10.", "应小于 10"),
    ("Must be greater than or equal to 0 and less than 1.", "应大于或等于 0 且小于 1"),
    ("Invalid value.", "取值无效"), ("Invalid input.", "取值无效"), ("Invalid JSON body.", "请求体不是有效的 JSON"),
    ("Not a valid delimited list.", "应为以逗号分隔的列表"), ("Number too large.", "数值过大"),
    ("Some message a library adds one day.", UNTRANSLATED), ("请指定流程（process_key）", "请指定流程（process_key）"),
])
def test_other_library_messages_and_unknown_english_ones_never_reach_a_client_in_english(english, chinese):
    assert translate({"json": {"f": [english]}}) == {"json": {"f": [chinese]}}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("raw", "reason"), [
    (nested(100_000), "depth"), (nested(MAX_DEPTH + 1), "depth"), ("9" * 5_000, "number"),
    ('["\\udc00"]', "unicode"), ('{"\\ud800": 1}', "unicode"), (b"\xff", "encoding"), ("{bad", "syntax"),
])
def test_the_body_loader_refuses_what_python_cannot_or_should_not_take(raw, reason):
    with pytest.raises(JsonNotValid) as caught:
        loads(raw)
    assert caught.value.reason == reason and CHINESE.search(caught.value.message)


def test_the_body_loader_takes_what_the_api_should_take():
    assert loads(nested(MAX_DEPTH)) is not None
    assert loads('{"emoji": "\\ud83d\\ude00", "n": ' + "9" * 4_000 + "}")["emoji"] == "😀"
    assert loads(b'{"a": "\xe4\xb8\xad"}') == {"a": "中"}


def test_process_data_nested_too_deep_is_named_as_such():
    value: object = 1
    for _ in range(21):
        value = [value]
    with pytest.raises(InvalidInput) as caught:
        check_variables({"a": value, "b": {"c": 1}})
    assert caught.value.details["fields"] == {"a": ["列表和对象的嵌套不能超过 20 层"]}
    check_variables({"a": value[0]})   # 20 deep is allowed


def test_process_data_holding_an_integer_json_cannot_write_is_named_as_such():
    """A message payload computed by an expression may hold an integer of 4,301 to about 4,900 digits."""
    with pytest.raises(InvalidInput) as caught:
        check_variables({"n": {"big": [10 ** 4300]}, "ok": 10 ** 4299})
    assert caught.value.details["fields"] == {"n": ["取值只能是字符串、数字（整数至多 4300 位）、布尔、null、列表或对象"]}


BODY = ('<bpmn:startEvent id="start"/>' + task("a") + '<bpmn:endEvent id="end"/>' + flow("f1", "start", "a")
        + flow("f2", "a", "end"))


@pytest.mark.parametrize(("files", "code", "message"), [
    ([("x.bpmn", b"hello")], "BPMN_MALFORMED_XML",
     "文件 x.bpmn 的 XML 格式错误，无法解析（第 1 行第 1 列；解析器：Start tag expected, '<' not found）"),
    ([("a.bpmn", process(BODY, pid="qa_simple")), ("b.bpmn", process(BODY, pid="qa_simple"))], "BPMN_PARSE_FAILED",
     "文件 b.bpmn 中的流程标识 qa_simple 与同一批文件中的另一个流程重复，请改用不同的流程标识（解析器：Duplicate process ID: qa_simple）"),
    ([("s.bpmn", diagram(process_id="s", condition="amount >"))], "EXPRESSION_REJECTED",
     "元素 gw 的条件表达式不安全或无效：表达式语法错误，无法解析（第 1 行；解析器：invalid syntax）"),
    ([("x/matters.yaml", b"matters:\n  - code: [\n")], "TB_CATALOG_YAML",
     "YAML 格式错误，无法解析（第 3 行；解析器：expected the node content, but found '<stream end>'）"),
], ids=["malformed-xml", "duplicate-process", "expression-syntax", "yaml"])
def test_lint_and_deploy_findings_are_chinese_sentences_keeping_the_parser_text_in_parentheses(files, code, message):
    found = [(f.code, f.message) for f in lint(*files)]
    assert (code, message) in found, found


def test_a_schema_violation_names_the_element_before_the_validators_words():
    head, tail = diagram().split(b"</bpmn:process>", 1)
    [finding] = lint(("x.bpmn", head + b"<bpmn:bogus/></bpmn:process>" + tail))
    assert finding.code == "BPMN_SCHEMA_INVALID"
    assert finding.message.startswith("文件 x.bpmn 不符合 BPMN 2.0 规范：元素 bpmn:bogus 不能出现在这里（第 ")
    assert "解析器：Element 'bpmn:bogus': This element is not expected" in finding.message
    assert "{http://" not in finding.message and finding.message.endswith("）")


@pytest.mark.parametrize(("source", "message"), [
    (b"{", "表单文件不是有效的 JSON，无法解析（第 1 行第 2 列；解析器：Expecting property name enclosed in double quotes）"),
    (b"\xff\xfe", "表单文件不是 UTF-8 编码的文本，无法解析（第 1 个字节；解析器：invalid start byte）"),
    ('{"id": "a", "id": "b", "components": []}', "表单文件不是有效的 JSON：JSON 对象中有重复的键"),
    ('{"id": "a", "components": [], "n": ' + "1" * 5_000 + "}", None),
    (nested(100_000), "表单文件的 JSON 嵌套过深，无法解析"),
])
def test_a_form_file_that_is_not_json_says_why(source, message):
    with pytest.raises(DefinitionRejected) as caught:
        parse_form(source)
    [finding] = caught.value.details["findings"]
    assert finding["code"] == "FORM_NOT_JSON"
    if message is None:
        assert finding["message"].startswith("表单文件中的数字位数过多，无法解析（解析器：Exceeds the limit")
    else:
        assert finding["message"] == message


def test_a_bad_validation_pattern_in_a_form_says_where():
    source = ('{"id": "f", "components": [{"type": "textfield", "key": "n", "label": "x", '
              '"validate": {"pattern": "a("}}]}')
    with pytest.raises(DefinitionRejected) as caught:
        parse_form(source)
    [finding] = caught.value.details["findings"]
    assert finding["message"].endswith("pattern 不是有效的正则表达式（第 2 个字符；解析器：missing ), unterminated subpattern）")


@pytest.mark.parametrize(("source", "message"), [
    ("(a + b", "表达式语法错误：括号没有闭合，无法解析（第 1 行第 1 列；解析器：'(' was never closed）"),
    ("a b", "表达式语法错误，无法解析（第 1 行第 3 列；解析器：invalid syntax）"),
    ("'abc", "表达式语法错误：字符串缺少结束引号，无法解析（第 1 行第 1 列；解析器：unterminated string literal (detected at line 1)）"),
])
def test_an_expression_syntax_error_is_a_chinese_sentence_with_pythons_words_in_parentheses(source, message):
    with pytest.raises(ExpressionRejected) as caught:
        Evaluator().check_expression(source)
    assert caught.value.message == message and caught.value.details["reason"] == "syntax"


def test_yaml_nested_too_deep_is_refused_not_a_crash():
    with pytest.raises(DefinitionRejected) as caught:
        load_yaml("x/matters.yaml", nested(5_000).encode())
    assert [f["message"] for f in caught.value.details["findings"]] == ["YAML 嵌套过深，无法解析"]
