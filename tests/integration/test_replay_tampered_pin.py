"""A migrated case whose CaseStarted content hash was edited: replay names the broken link, not a missing definition.

After a migration the case row points at the new version, so the version the case started on is found only by
the content hash its ``CaseStarted`` records. Edit that hash and the store holds no definition it names: the
cause is the edited record, which the hash chain proves, and replay (from the database or from an exported
file) must say so with the event's number instead of blaming the definition store. A version that really is
gone while the chain is intact is still ``DEFINITION_MISSING``.
"""
from __future__ import annotations

import json

import pytest

from engine import Actor, ChainBroken, CompleteTask, DefinitionMissing, Replayer, read_history, verify_history
from tests.helpers import ACCEPT, APPROVE, CLERK, deploy_shipped, open_task
from tests.integration.test_case_migration import deploy, start
from tests.integration.test_replay import tamper
from tests.integration.test_replay_inputs import edit_store
from tests.versioning import parallel_v1, with_review

ADMIN = Actor("admin_sj", ("admin",), "500000", "dsj")
SHENGTAI = Actor("reviewer_st", ("reviewer",), "500103", "shengtai")
FORGED_HASH = "0" * 64


@pytest.fixture
def migrated(engine) -> int:
    """A parallel_approval case started on version 1, migrated to version 2, then worked to its end."""
    deploy_shipped(engine)
    case_id = start(engine)
    deploy(engine, with_review(parallel_v1()))
    engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    engine.handle(CompleteTask(open_task(engine, SHENGTAI, "review_shengtai")["id"], SHENGTAI, APPROVE))
    return case_id


def forge_started_hash(engine, database_url: str, case_id: int) -> None:
    payload = dict(engine.queries.events(case_id)[0].payload)
    assert payload["definition_version"] == 1 and payload["content_hash"] != FORGED_HASH
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = 1",
           {"p": json.dumps({**payload, "content_hash": FORGED_HASH}), "c": case_id})


def test_a_forged_started_hash_on_a_migrated_case_is_reported_as_the_broken_link(engine, migrated, database_url,
                                                                                 runner):
    forge_started_hash(engine, database_url, migrated)
    with Replayer(engine) as replayer, pytest.raises(ChainBroken) as refused:
        replayer.replay_case(migrated)
    assert (refused.value.code, refused.value.http_status) == ("CHAIN_BROKEN", 409)
    assert refused.value.details["broken_seq"] == 1 and refused.value.details["content_hash"] == FORGED_HASH
    assert "链条断裂于第 1 个事件：事件内容与其哈希不符（内容被修改）" in refused.value.message
    result = runner.invoke(args=["replay", str(migrated)])
    assert result.exit_code == 2
    assert result.output.startswith("错误 [CHAIN_BROKEN]：办件 ")
    assert "DEFINITION_MISSING" not in result.output


def test_the_exported_file_of_that_case_verifies_broken_and_replay_names_the_same_link(engine, migrated,
                                                                                      database_url, runner, tmp_path):
    forge_started_hash(engine, database_url, migrated)
    path = tmp_path / "forged.json"
    assert runner.invoke(args=["history", "export", str(migrated), "-o", str(path)]).exit_code == 0
    check = verify_history(read_history(path))           # readable: the missing version is the edit's doing
    assert (check.ok, check.broken_seq) == (False, 1)
    verified = runner.invoke(args=["verify", "--file", str(path)])
    assert verified.exit_code == 1 and "链条断裂于第 1 个事件" in verified.output
    replayed = runner.invoke(args=["replay", "--file", str(path)])
    assert replayed.exit_code == 2, replayed.output
    assert "错误 [CHAIN_BROKEN]：" in replayed.output and "链条断裂于第 1 个事件" in replayed.output


def test_a_started_version_really_gone_with_an_intact_chain_is_still_definition_missing(engine, migrated,
                                                                                      database_url):
    edit_store(database_url, "DELETE FROM process_definitions WHERE process_key = :k AND version = 1",
               {"k": "parallel_approval"})
    with Replayer(engine) as replayer, pytest.raises(DefinitionMissing) as refused:
        replayer.replay_case(migrated)
    assert refused.value.code == "DEFINITION_MISSING"
    assert "parallel_approval 第 1 版" in refused.value.message
