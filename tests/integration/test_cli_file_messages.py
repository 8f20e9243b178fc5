"""The command line's messages: the history's code for an unknown case and its usage hint, and files that
cannot be read told in Chinese without Python's English (``File is not a zip file``, ``[Errno 2]``, ``codec``).
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
GOLDEN = ROOT / "tests" / "data" / "histories" / "permit_clocks_extension_approved.json"
BIG = "99999999999999999999"
ENGLISH = re.compile(r"[A-Za-z]{4,}")


def english(text: str, *paths: Path) -> list[str]:
    """Words of English in ``text`` once the paths it names, the codes in brackets and JSON/UTF are left out."""
    for path in paths:
        text = text.replace(str(path), "")
    text = re.sub(r"\[[A-Z_]+\]", "", text)
    return [w for w in ENGLISH.findall(text) if w not in ("JSON", "UTF")]


def test_the_history_of_an_unknown_case_is_not_found_as_in_every_other_command(runner, tmp_path):
    output = str(tmp_path / "h.json")
    for args in (["history", BIG], ["history", "424242"], ["history", "export", BIG, "-o", output],
                 ["history", "export", "424242", "-o", output]):
        result = runner.invoke(args=args)
        assert result.exit_code == 2 and "错误 [NOT_FOUND]：办件 " in result.output, (args, result.output)
        assert "CASE_NOT_FOUND" not in result.output
    for args in (["verify", BIG], ["replay", BIG]):
        assert "错误 [NOT_FOUND]：" in runner.invoke(args=args).output


def test_the_usage_hint_of_history_names_a_command_that_exists(runner):
    result = runner.invoke(args=["history", "1", "--state", BIG])
    (hint,) = re.findall(r"（用法见 (.+) --help）", result.output)
    words = hint.split()[1:]                                      # without the program's name
    assert words == ["history", "show"], result.output
    shown = runner.invoke(args=[*words, "--help"])
    assert shown.exit_code == 0 and "用法：" in shown.output and "--state" in shown.output


def test_archive_verify_of_a_file_that_is_not_a_zip_says_so_in_chinese(runner, tmp_path):
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"%PDF-1.7 not a zip")
    result = runner.invoke(args=["archive", "verify", str(not_zip)])
    assert result.exit_code == 1 and "第一个问题：(zip)：不是有效的 zip 文件（" in result.output
    assert "File is not a zip file" not in result.output and english(result.output, not_zip) == []


def test_history_files_that_cannot_be_read_are_refused_in_chinese(runner, tmp_path):
    missing = tmp_path / "nope.json"
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(GOLDEN.read_bytes()[:5000])
    for path, words in ((missing, "文件不存在"), (binary, "不是 UTF-8 编码的文本"),
                        (truncated, "不是有效的 JSON（第 ")):
        for command in ("replay", "verify"):
            result = runner.invoke(args=[command, "--file", str(path)])
            assert result.exit_code == 2 and words in result.output, (command, result.output)
            assert english(result.output, path) == [], result.output
