"""Input faults without a database: 居民身份证号 birth dates and region codes, invisible 差评 comments and appeal
reasons, the verify count message, and Chinese-only reasons for files that cannot be read or parsed.

Check characters are computed here with ISO 7064 MOD 11-2 itself, not with the engine's helper.
"""
from __future__ import annotations

import json
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest

from engine import InvalidInput, OrgFileInvalid, parse_org_file
from engine.archive_verify import verify_archive
from engine.audit import verify_rows
from engine.commands import Party
from engine.history_file import HistoryFileError, loads_history, read_history, write_history
from engine.identifiers import id_number_problem
from engine.intake_checks import check_party
from engine.masking import id_number_fault, is_valid_id_number
from engine.parser_text import file_problem, json_problem
from engine.ratings import appeal_data, appeal_decision_data, check_rating
from engine.verification import chinese_reason

ROOT = Path(__file__).resolve().parent.parent.parent
GOLDEN = ROOT / "tests" / "data" / "histories" / "permit_clocks_extension_approved.json"
ENGLISH = re.compile(r"[A-Za-z]{4,}")
"""A word of Python's English (``File``, ``Errno``, ``codec``, ``Unterminated``); ``JSON``/``UTF``/``zip`` pass."""
TODAY = date(2026, 11, 23)


def mod11_2(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 digits (GB 11643-1999 §5.3)."""
    total = 0
    for digit in first17:
        total = (total + int(digit)) * 2 % 11
    return "0123456789X"[(12 - total) % 11]


def number(first17: str) -> str:
    assert len(first17) == 17
    return first17 + mod11_2(first17)


def english(text: str) -> list[str]:
    return [w for w in ENGLISH.findall(text) if w not in ("JSON", "UTF")]


# --- 居民身份证号 -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("qa", "fault"), [
    ("50010319901301123X", "出生日期不正确（第 7–14 位不是有效的日期）"),     # month 13
    ("500103199002301231", "出生日期不正确（第 7–14 位不是有效的日期）"),     # 30 February
    ("500103209912311232", "出生日期不正确（第 7–14 位的日期晚于今天）"),     # born 2099
    ("500103180001011232", "出生日期不正确（出生年份不能早于 1900 年）"),     # born 1800
    ("00000019900101123X", "行政区划代码不正确（前两位应为省级行政区划代码，11–82）"),
])
def test_qas_numbers_have_right_check_characters_and_are_refused_for_their_real_fault(qa, fault):
    assert number(qa[:17]) == qa                       # so the check character is not what is wrong
    assert id_number_fault(qa, today=TODAY) == fault and not is_valid_id_number(qa, today=TODAY)
    assert id_number_problem("111", qa, today=TODAY) == f"居民身份证号{fault}，请核对"


def test_real_days_from_1900_to_today_are_accepted_and_others_refused():
    for born in ("19000101", "20000229", "19850612", TODAY.strftime("%Y%m%d")):
        assert id_number_fault(number(f"500103{born}031"), today=TODAY) is None, born
    for born in ("18991231", "19000229", "19900431", "19901200", "20261124"):
        assert id_number_fault(number(f"500103{born}031"), today=TODAY) is not None, born
    assert is_valid_id_number(number("11010519491231002"))          # today defaults to the wall clock
    assert not is_valid_id_number(number("11010521991231002"))


def test_every_province_code_is_accepted_and_non_provinces_are_refused():
    for region in ("110105", "500103", "650102", "710000", "810000", "820000"):
        assert id_number_fault(number(f"{region}19900101123"), today=TODAY) is None, region
    for region in ("000000", "100000", "190000", "240000", "830000", "990000"):
        assert id_number_fault(number(f"{region}19900101123"), today=TODAY).startswith("行政区划代码不正确"), region


def test_the_check_character_is_still_checked_after_the_parts():
    good = number("50010319850612031")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert id_number_problem("111", wrong, today=TODAY) == "居民身份证号校验位不正确，请核对"
    assert id_number_problem("111", "5001031985061203") == "居民身份证号应为 18 位（前 17 位数字，末位数字或 X）"


def test_a_party_and_an_org_file_user_get_the_specific_reason():
    _, errors = check_party(Party("person", "张三", "111", number("50010320261124123")), "applicant", agent=False,
                            today=TODAY)
    assert errors == {"applicant.id_number": ["居民身份证号出生日期不正确（第 7–14 位的日期晚于今天），请核对"]}
    _, errors = check_party(Party("person", "张三", "111", number("50010320261124123")), "applicant", agent=False,
                            today=date(2026, 11, 24))
    assert errors == {}
    bad = f"users:\n  - {{username: a_b, name: 甲, roles: [reviewer], id_number: '{number('50010319901301123')}'}}\n"
    with pytest.raises(OrgFileInvalid) as refused:
        parse_org_file(bad, "yaml")
    (problem,) = refused.value.details["problems"]
    assert problem.endswith("无效：出生日期不正确（第 7–14 位不是有效的日期）")


# --- 好差评 -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("comment", ["\u200b\u200b", "\u200d\u2060\ufeff", " \u3000 ", "\u202e"])
def test_a_bad_rating_comment_of_invisible_characters_is_no_comment(comment):
    with pytest.raises(InvalidInput) as refused:
        check_rating(4, "1", comment)
    assert refused.value.code == "RATING_INVALID" and list(refused.value.details["fields"]) == ["comment"]
    assert check_rating(1, "1", comment) == ""
    assert check_rating(5, "1", "\u200b 材料清单前后不一 ") == "\u200b 材料清单前后不一"


def test_an_appeal_and_its_decision_need_a_visible_reason_named_as_the_caller_sent_it():
    for blank in ("  ", "\u200b", "\ufeff\u3000", None, 7):
        with pytest.raises(InvalidInput) as refused:
            appeal_data(blank)
        assert list(refused.value.details["fields"]) == ["reason"] and "appeal_reason" not in str(refused.value)
        with pytest.raises(InvalidInput) as refused:
            appeal_decision_data("upheld", blank)
        assert list(refused.value.details["fields"]) == ["opinion"]
    assert appeal_data("  误评  ") == {"action": "appeal", "appeal_reason": "误评"}
    assert appeal_decision_data("rejected", "继续整改") == {"appeal_decision": "rejected",
                                                          "appeal_opinion": "继续整改"}


# --- verify -----------------------------------------------------------------------------------------------------

def test_an_event_count_that_differs_from_the_case_row_says_both_counts_and_no_sure_cause():
    history = loads_history(GOLDEN.read_text(encoding="utf-8"))
    rows = [(None, e.seq, e.event_type, e.occurred_at, e.actor, e.element_id, e.task_id,
             json.dumps(e.payload, ensure_ascii=False), e.prev_hash, e.hash) for e in history.events]
    count = len(rows)
    more = verify_rows(history.case_no, iter(rows), expected_head=history.case["chain_head"],
                       expected_count=count + 3)
    assert not more.ok and chinese_reason(more.reason) == (
        f"事件数与办件记录不符：记录为 {count + 3} 个，链上只有 {count} 个"
        "（可能末尾事件被删除后链头被改回，或办件记录被改动）")
    fewer = verify_rows(history.case_no, iter(rows), expected_head=history.case["chain_head"],
                        expected_count=count - 1)
    assert chinese_reason(fewer.reason).startswith(f"事件数与办件记录不符：记录为 {count - 1} 个，链上却有 {count} 个")
    assert "的不符" not in chinese_reason(more.reason)


# --- files that cannot be read or parsed ---------------------------------------------------------------------------

def test_reading_a_history_file_says_what_is_wrong_in_chinese_only(tmp_path):
    cases = []
    for setup, expected in (
        (None, "文件不存在"),
        (b"\xff\xfe\x00garbage", "不是 UTF-8 编码的文本（第 1 个字节）"),
        (GOLDEN.read_bytes()[:5000], "不是有效的 JSON（第 "),
        (b'{"format": "tongban-case-history/2"', "不是有效的 JSON（第 1 行第 36 列：缺少逗号）"),
    ):
        path = tmp_path / f"h{len(cases)}.json"
        if setup is not None:
            path.write_bytes(setup)
        with pytest.raises(HistoryFileError) as refused:
            read_history(path)
        cases.append(refused.value.message)
        said = refused.value.message.replace(str(path), "")
        assert expected in said and english(said) == [], said
    assert cases[0] == f"无法读取历史文件 {tmp_path / 'h0.json'}：文件不存在"
    assert "字符串缺少结束的引号" in cases[2] and "可能被截断或损坏" in cases[2]
    doc = json.loads(GOLDEN.read_text(encoding="utf-8"))
    del doc["seed"]
    with pytest.raises(HistoryFileError) as refused:
        loads_history(json.dumps(doc))
    assert refused.value.message == "历史文件 的内容不完整或格式错误：缺少 seed"


def test_writing_a_history_file_where_it_cannot_go_is_refused_in_chinese(tmp_path):
    history = read_history(GOLDEN)
    with pytest.raises(HistoryFileError) as refused:
        write_history(history, tmp_path / "no-such-dir" / "x.json")
    assert refused.value.code == "HISTORY_FILE_UNWRITABLE"
    assert refused.value.message.endswith("：所在文件夹不存在") and "Errno" not in refused.value.message


def test_json_and_file_problems_carry_no_python_english(tmp_path):
    for text in ('{"a": "x', "{", "[1,]", '{"a" 1}', "1 2", '"\\q"'):
        with pytest.raises(json.JSONDecodeError) as caught:
            json.loads(text)
        said = json_problem(caught.value)
        assert said.startswith("不是有效的 JSON（第 1 行第 ") and english(said) == [], said
    with pytest.raises(OSError) as caught:
        (tmp_path / "nope.json").read_text()
    assert file_problem(caught.value) == "文件不存在"
    with pytest.raises(OSError) as caught:
        tmp_path.read_text()
    assert file_problem(caught.value) == "是文件夹，不是文件"


def test_a_file_that_is_not_a_zip_or_has_a_broken_json_entry_is_told_in_chinese(tmp_path):
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"%PDF-1.7 not a zip")
    problem = verify_archive(not_zip).problem
    assert problem.message == "不是有效的 zip 文件（不是 zip 格式，或已损坏、被截断）"
    broken = tmp_path / "y.zip"
    with zipfile.ZipFile(broken, "w") as package:
        package.writestr("TB1/manifest.json", b'{"format": ')
    problem = verify_archive(broken).problem
    assert problem.message == "不是有效的 JSON（第 1 行第 12 列：此处应有一个值）"
