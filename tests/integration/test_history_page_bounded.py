"""The history page's timeline shows an edited record bounded and escaped, and normal data as before.

A recorded payload edited behind the append-only trigger's back holds megabyte texts that start with a
terminal escape (``ESC [2J``) and U+202E: a completion's data (a text and a list of three such texts) and a
task's ``reason`` and ``comment``. The page and the htmx rows fragment show each cut after
:data:`app.pages.history.TEXT_CHARS` characters with ``…``, every control or direction character written as
an escape, so they stay small; data within the limits reads exactly as before (``tojson`` for a list).
"""
from __future__ import annotations

import json
import re
import unicodedata

from flask import render_template_string
from sqlalchemy import create_engine, text

from app.pages.history import DATA_CHARS, TEXT_CHARS
from app.runtime import get_engine

from .test_history_pages import app, client_for  # noqa: F401 - the app fixture: a 54-event loop case
from .test_replay import tamper

HOSTILE = "\x1b[2J\u202e" + "x" * (1024 * 1024)
SHOWN = "\\u001b[2J\\u202e" + "x" * (TEXT_CHARS - 5) + "…"
"""The hostile text as the timeline shows it: its first TEXT_CHARS characters, escaped, then ``…``."""
GROWTH = 40_000
"""How many characters the tampered events may add to the page (four texts of TEXT_CHARS, escaped)."""


def _no_raw_controls(page: str) -> None:
    raw = [c for c in page if c not in "\n\r\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    assert not raw, raw[:10]


def _seq_of(app, event_type: str) -> int:  # noqa: F811
    events = get_engine(app).queries.events(app.config["CASE_ID"])
    return next(e.seq for e in events if e.event_type == event_type)


def _payload(database_url: str, case_id: int, seq: int) -> dict:
    eng = create_engine(database_url)
    with eng.connect() as conn:
        found = conn.execute(text("SELECT payload FROM case_events WHERE case_id = :c AND seq = :s"),
                             {"c": case_id, "s": seq}).scalar_one()
    eng.dispose()
    return json.loads(found) if isinstance(found, str) else dict(found or {})


def _edit(database_url: str, case_id: int, seq: int, **changes) -> None:
    payload = {**_payload(database_url, case_id, seq), **changes}
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = :s",
           {"p": json.dumps(payload), "c": case_id, "s": seq})


def _row(page: str, seq: int) -> str:
    return re.search(rf'<tr id="event-{seq}".*?</tr>', page, re.S).group(0)


def test_megabyte_data_and_reasons_in_the_record_show_bounded_and_escaped(app, database_url):  # noqa: F811
    case_id = app.config["CASE_ID"]
    completed, created = _seq_of(app, "TaskCompleted"), _seq_of(app, "TaskCreated")
    auditor = client_for(app, "auditor")
    before = len(auditor.get(f"/cases/{case_id}/history").get_data(as_text=True))
    _edit(database_url, case_id, completed, data={"round": HOSTILE, "done": [HOSTILE] * 3})
    _edit(database_url, case_id, created, reason=HOSTILE, comment=HOSTILE)

    page = auditor.get(f"/cases/{case_id}/history").get_data(as_text=True)
    fragment = auditor.get(f"/cases/{case_id}/history/rows?after={min(completed, created) - 1}",
                           headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<table" not in fragment
    for html in (page, fragment):
        assert len(html) < before + GROWTH, len(html)
        _no_raw_controls(html)
        done = _row(html, completed)
        assert f"<dt>round</dt><dd>{SHOWN}</dd>" in done
        listed = '", "'.join([SHOWN] * 3)
        assert f'<dt>done</dt><dd><details><summary>3 项</summary><code>["{listed}"]</code></details>' in done
        made = _row(html, created)
        assert f'<div class="sub">{SHOWN}</div>' in made and f'<div class="sub">意见：{SHOWN}</div>' in made


def test_an_event_with_very_many_entries_shows_the_first_and_counts_the_rest(app, database_url):  # noqa: F811
    case_id, completed = app.config["CASE_ID"], _seq_of(app, "TaskCompleted")
    data = {f"k{n:03d}": "字" * 2000 for n in range(60)}       # each within the limits, 120 000 characters in all
    _edit(database_url, case_id, completed, data=data)
    row = _row(client_for(app, "auditor").get(f"/cases/{case_id}/history").get_data(as_text=True), completed)
    shown = -(-DATA_CHARS // 2008)       # entries until their keys, labels and texts pass DATA_CHARS
    assert f"<dt>k{shown - 1:03d}</dt><dd>{'字' * 2000}</dd>" in row and f"<dt>k{shown:03d}</dt>" not in row
    assert f"<dt>…</dt><dd>另有 {60 - shown} 项未显示</dd>" in row


def test_data_within_the_limits_reads_as_before(app, database_url):  # noqa: F811
    case_id, completed = app.config["CASE_ID"], _seq_of(app, "TaskCompleted")
    items = [{"name": "<营业执照> & '副本'", "count": 2, "ratio": 1.5, "seen": None}, "第二项", True]
    longest = "长" * TEXT_CHARS
    _edit(database_url, case_id, completed, data={"items": items, "note": longest, "flag": False, "n": 7,
                                                  "opinion": "第一行\r\n第二行\t（附注）"})
    html = client_for(app, "auditor").get(f"/cases/{case_id}/history").get_data(as_text=True)
    row = _row(html, completed)
    with app.test_request_context():
        as_before = render_template_string("{{ v | tojson }}", v=items)
    assert f"<dt>items</dt><dd><details><summary>3 项</summary><code>{as_before}</code></details></dd>" in row
    assert f"<dt>note</dt><dd>{longest}</dd>" in row and "…" not in row
    assert "<dt>flag</dt><dd>否</dd>" in row and "<dt>n</dt><dd>7</dd>" in row
    # A line break or tab reads as a space, as HTML showed it before: never as an escape.
    assert "<dt>opinion</dt><dd>第一行 第二行 （附注）</dd>" in row and "\\u000a" not in row
