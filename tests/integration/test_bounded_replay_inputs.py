"""Replay's refusals quote the record's process key, version, content hash and form key bounded and escaped.

Before anything is replayed, the definition and form versions the events name are looked up in the store (a
history file's seed rows) and hashed again (:mod:`engine.replay_inputs`): a refusal names the version by the
values the record holds, in its message and its ``details``, which ``replay --file`` prints and the API returns
with its 409. Each value below is a megabyte and starts with a terminal escape (``ESC [2J`` clears the screen)
and U+202E (turns the rest of the line right to left): the refusal stays a few hundred characters, both written
as escapes, and ``details`` keep a bounded value. An event after the rating is named likewise, its sentence whole.
"""
from __future__ import annotations

import copy
import json
import unicodedata
from typing import Any, Callable

import pytest

from app import create_app
from app.runtime import set_engine
from engine import ChainBroken, Conflict, DefinitionChanged, DefinitionMissing, Replayer, loads_history
from engine.definitions import definition_content_hash
from tests.integration.test_golden_histories import golden_doc, offline, rehash, replayer, runner  # noqa: F401
from tests.integration.test_replay import tamper
from tests.integration.test_replay_inputs import accepted  # noqa: F401 - a 施工许可 case accepted on version 1
from tests.pages_helpers import PASSWORD, client_for, csrf_of

HOSTILE = "\x1b[2J\u202e" + "x" * (1024 * 1024)
SHOWN = "\\u001b[2J\\u202exxxx"
"""How the start of :data:`HOSTILE` reads in a refusal."""
MOST = 1000
"""A refusal's message (and its details as JSON) stays below this many characters whatever the record holds."""


def assert_bounded(text: str, most: int = MOST) -> None:
    assert len(text) < most, text[:most]
    raw = [c for c in text if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    assert not raw, raw


def crafted(edit: Callable[[dict[str, Any]], None], *, chained: bool = True) -> dict[str, Any]:
    """The golden 食品经营许可 history with ``edit`` applied, the chain re-hashed unless ``chained`` is False."""
    doc = golden_doc()
    edit(doc)
    if chained:
        rehash(doc)
    return doc


def refused(replayer: Replayer, doc: dict[str, Any], kind: type[Conflict]) -> Conflict:  # noqa: F811
    history = loads_history(json.dumps(doc, ensure_ascii=False))
    with pytest.raises(kind) as caught:
        replayer.replay_history(history)
    assert_bounded(caught.value.message)
    assert_bounded(json.dumps(caught.value.details, ensure_ascii=False))
    return caught.value


def started(doc: dict[str, Any]) -> dict[str, Any]:
    """The payload of the history's CaseStarted, which pins the definition version."""
    first = doc["events"][0]
    assert first["event_type"] == "CaseStarted"
    return first["payload"]


def definition(doc: dict[str, Any]) -> dict[str, Any]:
    (row,) = doc["seed"]["definitions"]
    return row


def repinned(doc: dict[str, Any]) -> None:
    """Recompute the definition row's content hash from its parts and pin the case to it (as a forger would)."""
    row = definition(doc)
    row["content_hash"] = definition_content_hash(row["bpmn_xml"], row["resources"] or {}, row["form_refs"],
                                                  (row["meta"] or {}).get("bundle"))
    started(doc)["content_hash"] = row["content_hash"]


def test_a_megabyte_process_key_is_quoted_bounded_in_the_message_the_details_and_the_cli(
        replayer, runner, tmp_path):  # noqa: F811
    doc = crafted(lambda d: started(d).update(process_key=HOSTILE))
    pinned_hash = started(doc)["content_hash"]
    missing = refused(replayer, doc, DefinitionMissing)
    assert missing.message.startswith(f"办件锁定的流程定义 {SHOWN}")
    assert missing.message.endswith(f"… 第 1 版（内容哈希 {pinned_hash}）已不在定义库中，无法重放")
    details = missing.details
    assert details["process_key"].startswith(SHOWN) and details["process_key"].endswith("…")
    assert (details["version"], details["content_hash"], details["seq"]) == (1, pinned_hash, 1)
    path = tmp_path / "process_key.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["replay", "--file", str(path)])
    assert result.exit_code == 2, result.output[:500]
    assert result.output.startswith(f"错误 [DEFINITION_MISSING]：办件锁定的流程定义 {SHOWN}")
    assert_bounded(result.output)


@pytest.mark.parametrize("version", [HOSTILE, [HOSTILE], {"major": HOSTILE}], ids=["text", "list", "object"])
def test_a_megabyte_definition_version_is_quoted_bounded(replayer, version):  # noqa: F811
    # A list or an object names no stored version either: refused as missing, not an internal error.
    missing = refused(replayer, crafted(lambda d: started(d).update(definition_version=version)), DefinitionMissing)
    assert missing.message.startswith("办件锁定的流程定义 standard_permit 第 ")
    assert SHOWN in missing.message and missing.message.endswith("已不在定义库中，无法重放")
    assert SHOWN in missing.details["version"] and missing.details["version"].endswith("…")
    assert missing.details["process_key"] == "standard_permit"


def test_an_edited_megabyte_process_key_is_quoted_bounded_where_the_broken_link_is_named(replayer):  # noqa: F811
    broken = refused(replayer, crafted(lambda d: started(d).update(process_key=HOSTILE), chained=False), ChainBroken)
    assert broken.message.startswith("办件 ") and "链条断裂于第 1 个事件" in broken.message
    assert f"其中记录的流程定义（{SHOWN}" in broken.message and broken.message.endswith("请用 tongban verify 核对")
    assert broken.details["broken_seq"] == 1 and broken.details["process_key"].startswith(SHOWN)


def test_a_megabyte_stored_content_hash_is_quoted_bounded_where_the_definition_changed(replayer):  # noqa: F811
    def forged(doc: dict[str, Any]) -> None:
        definition(doc)["content_hash"] = started(doc)["content_hash"] = HOSTILE

    changed = refused(replayer, crafted(forged), DefinitionChanged)
    assert changed.message.startswith("定义库中的流程定义 standard_permit 第 1 版已被改动：按现存内容计算的哈希为 ")
    assert f"与记录的内容哈希 {SHOWN}" in changed.message and changed.message.endswith("… 不符，无法重放")
    assert changed.details["stored_hash"].startswith(SHOWN) and changed.details["content_hash"].startswith(SHOWN)
    assert len(changed.details["recomputed_hash"]) == 64


def test_a_megabyte_form_key_and_hash_the_definition_pins_are_quoted_bounded(replayer):  # noqa: F811
    def pin_a_form(doc: dict[str, Any]) -> None:
        definition(doc)["form_refs"][HOSTILE] = HOSTILE
        repinned(doc)

    missing = refused(replayer, crafted(pin_a_form), DefinitionMissing)
    assert missing.message.startswith("流程定义 standard_permit 第 1 版（内容哈希 ")
    assert f"锁定的表单 {SHOWN}" in missing.message and f"（内容哈希 {SHOWN}" in missing.message
    assert missing.message.endswith("…）已不在定义库中，无法重放")
    assert missing.details["form_key"].startswith(SHOWN) and missing.details["form_hash"].startswith(SHOWN)


def test_a_megabyte_key_of_an_edited_form_is_quoted_bounded(replayer):  # noqa: F811
    def rename_and_edit(doc: dict[str, Any]) -> None:
        form = doc["seed"]["forms"][0]
        refs = definition(doc)["form_refs"]
        refs[HOSTILE] = refs.pop(form["form_key"])
        form["form_key"], form["source"] = HOSTILE, {"id": "edited", "components": []}
        repinned(doc)

    changed = refused(replayer, crafted(rename_and_edit), DefinitionChanged)
    assert f"锁定的表单 {SHOWN}" in changed.message and changed.message.endswith("不符，无法重放")
    assert "…第 1 版已被改动：按现存内容计算的哈希为 " in changed.message
    assert changed.details["form_key"].startswith(SHOWN)


def test_an_event_after_the_rating_is_named_bounded_and_the_sentence_ends_whole(replayer):  # noqa: F811
    def stray(doc: dict[str, Any]) -> None:
        last = doc["events"][-1]
        rated = {**copy.deepcopy(last), "seq": last["seq"] + 1, "event_type": "CaseRated", "payload": {"score": 5}}
        after = {**copy.deepcopy(last), "seq": last["seq"] + 2, "event_type": HOSTILE, "payload": {}}
        doc["events"] += [rated, after]

    doc = crafted(stray)
    found = replayer.replay_history(loads_history(json.dumps(doc, ensure_ascii=False))).divergence
    assert (found.seq, found.reason) == (len(doc["events"]), "unsupported")
    assert found.message.startswith(f"第 {found.seq} 个事件 {SHOWN}")
    assert found.message.endswith("… 出现在评价事件之后，重放不支持")
    assert_bounded(found.message)


def test_the_api_s_409_and_the_verdict_quote_an_edited_process_key_bounded(engine, accepted, database_url):  # noqa: F811
    payload = dict(engine.queries.events(accepted.case_id)[0].payload)
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = 1",
           {"p": json.dumps({**payload, "process_key": HOSTILE}), "c": accepted.case_id})
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    client = client_for(app, "auditor")
    bearer = {"Authorization": f"Bearer {engine.identity.create_token('auditor')}"}
    answer = client.post(f"/api/v1/cases/{accepted.case_id}/replay", headers=bearer)
    assert answer.status_code == 409
    body = answer.get_data(as_text=True)
    assert_bounded(body, 2000)
    found = answer.get_json()
    assert found["code"] == "CHAIN_BROKEN" and f"其中记录的流程定义（{SHOWN}" in found["message"]
    token = csrf_of(client, f"/cases/{accepted.case_id}/history")
    verdict = client.post(f"/cases/{accepted.case_id}/history/replay", data={"csrf_token": token},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-verdict="refused"' in verdict and "无法重放 [CHAIN_BROKEN]" in verdict
    assert_bounded(verdict, 2000)
