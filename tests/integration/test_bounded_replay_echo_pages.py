"""The history page's replay verdict and the replay API quote an edited record bounded.

A recorded payload edited behind the append-only trigger's back holds a megabyte value with a terminal escape
(``ESC [2J``) and U+202E. The verdict fragment shows the message and each cell of the divergent event cut after
a couple of hundred characters, every control written as an escape; the API's message is bounded the same way,
and its ``expected`` is the event as recorded (the API gives out the record, as the history API does).
"""
from __future__ import annotations

import json
import unicodedata

from app.runtime import get_engine

from .test_history_pages import app, client_for  # noqa: F401 - the app fixture: a 54-event loop case
from .test_replay import tamper
from ..pages_helpers import PASSWORD, csrf_of

HOSTILE = "\x1b[2J\u202e" + "x" * (1024 * 1024)
SHOWN = "\\u001b[2J\\u202exxxx"
MOST = 20000
"""The verdict fragment stays below this many characters whatever the record holds."""


def assert_bounded(text: str, most: int = MOST) -> None:
    assert len(text) < most, text[:2000]
    raw = [c for c in text if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    assert not raw, raw


def first_completion(app) -> int:  # noqa: F811
    """The seq of the loop case's first completion, an input replay re-issues."""
    events = get_engine(app).queries.events(app.config["CASE_ID"])
    return next(e.seq for e in events if e.event_type == "TaskCompleted")


def test_a_refusal_quoting_an_edited_payload_is_shown_bounded(app, database_url):  # noqa: F811
    case_id, seq = app.config["CASE_ID"], first_completion(app)
    # The completion made a 督办办结 of an item replay never raised: the engine's refusal names the item id.
    tamper(database_url, "UPDATE case_events SET event_type = 'SupervisionClosed', payload = :p "
                         "WHERE case_id = :c AND seq = :s",
           {"p": json.dumps({"item_id": HOSTILE, "opinion": "已办结"}), "c": case_id, "s": seq})
    auditor = client_for(app, "auditor")
    token = csrf_of(auditor, f"/cases/{case_id}/history")
    page = auditor.post(f"/cases/{case_id}/history/replay", data={"csrf_token": token},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'data-verdict="diverged" data-seq="{seq}"' in page
    assert f"重放命令被拒绝：[NOT_FOUND] 记录中的督办事项 {SHOWN}" in page
    assert '<td><code>{&#34;item_id&#34;: ' not in page     # the JSON reads as JSON, as tojson wrote it
    assert f'<td><code>{{"item_id": "{SHOWN}' in page and '<td>（无）</td>' in page
    assert_bounded(page)

    engine = get_engine(app)
    engine.identity.create_user("auditor_api", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    bearer = {"Authorization": f"Bearer {engine.identity.create_token('auditor_api')}"}
    found = auditor.post(f"/api/v1/cases/{case_id}/replay", headers=bearer).get_json()["divergence"]
    assert (found["seq"], found["reason"]) == (seq, "refused")
    assert found["message"].startswith(f"重放命令被拒绝：[NOT_FOUND] 记录中的督办事项 {SHOWN}")
    assert_bounded(found["message"], 1000)
    assert found["expected"]["payload"]["item_id"] == HOSTILE


def test_an_edited_payload_of_an_effect_is_shown_bounded_and_escaped(app, database_url):  # noqa: F811
    case_id = app.config["CASE_ID"]
    data = {"round": 99, "done": True, "big": HOSTILE, "markup": "<script>alert(1)</script>&",
            "many": list(range(5000))}
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = 5",
           {"p": json.dumps({"data": data}), "c": case_id})
    auditor = client_for(app, "auditor")
    token = csrf_of(auditor, f"/cases/{case_id}/history")
    page = auditor.post(f"/cases/{case_id}/history/replay", data={"csrf_token": token},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-verdict="diverged" data-seq="5"' in page and "记录与重放的内容不同" in page
    assert f'"big": "{SHOWN}' in page and "<script>" not in page and "\\u003cscript\\u003e" in page
    assert "…（另有 4970 项）" in page and '<tr class="differs"><th scope="row">内容</th>' in page
    assert_bounded(page)

