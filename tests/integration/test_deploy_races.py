"""Deploys that race (SQLite and PostgreSQL): one process key gets one version at a time, none is lost.

Each test runs the second deploy from inside the first one, at the point where the first has read what is
deployed and not yet written: on SQLite the second waits for the first's write transaction, on PostgreSQL for
its lock on the process key.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from engine import Actor, Conflict, DeployDefinitions, DeployDraft
from engine.persistence.definition_repository import DefinitionRepository
from tests.draft_diagrams import renamed as draft_renamed
from tests.helpers import deploy_shipped
from tests.versioning import parallel_v1, retitled

DESIGNER = Actor("designer", ("designer",), "500000", "dsj")


class Interleaved:
    """Run ``other`` once, in a thread, from inside the first deploy; give it 2 s to finish or block."""

    def __init__(self, other: Callable[[], Any]):
        self.other = other
        self.outcome: Any = "not run"
        self.thread: threading.Thread | None = None

    def run_once(self) -> None:
        if self.thread is not None:
            return
        self.thread = threading.Thread(target=self._run)
        self.outcome = "waiting"
        self.thread.start()
        self.thread.join(timeout=2)

    def _run(self) -> None:
        try:
            self.outcome = self.other()
        except Conflict as exc:
            self.outcome = exc.code
        except Exception as exc:    # noqa: BLE001 - the test shows what escaped
            self.outcome = repr(exc)

    def finish(self) -> Any:
        if self.thread is not None:
            self.thread.join(timeout=30)
        return self.outcome


def status(report: list) -> list[tuple[str, int, str]]:
    return [(d.key, d.version, d.status) for d in report if d.kind == "process"]


def test_two_drafts_of_the_same_version_deployed_at_once_deploy_one_and_refuse_the_other_as_stale(engine):
    """Two designers open version 1 and deploy their drafts at the same moment: the second gets DRAFT_STALE.

    The draft deploy locks the process key before it checks that the draft's base is the latest version and
    holds it to commit, so the other draft cannot be deployed over the first as version 3.
    """
    deploy_shipped(engine)
    first = engine.drafts.create(process_key="parallel_approval", bpmn=draft_renamed("甲"), actor="designer",
                                 base_version=1)
    second = engine.drafts.create(process_key="parallel_approval", bpmn=draft_renamed("乙"), actor="designer",
                                  base_version=1)
    catalog = engine.services.catalog
    lint = catalog.lint
    other = Interleaved(lambda: engine.handle(DeployDraft(first.id, DESIGNER)).status)

    def lint_then_let_the_other_deploy(uow, bpmn_files, form_files):
        found = lint(uow, bpmn_files, form_files)
        if "乙".encode() in bpmn_files[0][1]:
            other.run_once()
        return found

    catalog.lint = lint_then_let_the_other_deploy
    try:
        try:
            outcome = engine.handle(DeployDraft(second.id, DESIGNER)).status
        except Conflict as exc:
            outcome = exc.code
    finally:
        first_outcome = other.finish()
        catalog.lint = lint
    assert sorted([outcome, first_outcome]) == ["DRAFT_STALE", "created"], (outcome, first_outcome)
    assert [v["version"] for v in engine.versions.list("parallel_approval")["versions"]] == [2, 1]


@pytest.fixture
def interleave_after_next_version(monkeypatch):
    """Let ``other`` run right after the first deploy computed the next version number of a process."""
    holder: dict[str, Interleaved] = {}
    original = DefinitionRepository.next_version

    def next_version(self, model, key_column, key):
        found = original(self, model, key_column, key)
        if key == "parallel_approval" and "other" in holder:
            holder["other"].run_once()
        return found

    monkeypatch.setattr(DefinitionRepository, "next_version", next_version)

    def install(other: Callable[[], Any]) -> Interleaved:
        holder["other"] = Interleaved(other)
        return holder["other"]
    return install


def test_two_deploys_of_different_contents_of_one_process_at_once_become_versions_2_and_3(
        engine, interleave_after_next_version):
    """``tongban deploy`` twice at once with different diagrams: both are kept, one as version 2, one as 3.

    Without the lock on the process key both computed version 2 on PostgreSQL, and the second insert failed
    with a bare unique-key IntegrityError (a 500).
    """
    deploy_shipped(engine)
    other = interleave_after_next_version(lambda: status(engine.handle(DeployDefinitions(
        (("parallel_approval/main.bpmn", retitled(parallel_v1(), "并联审批（乙）")),), actor=DESIGNER))))
    try:
        mine = status(engine.handle(DeployDefinitions(
            (("parallel_approval/main.bpmn", retitled(parallel_v1(), "并联审批（甲）")),), actor=DESIGNER)))
    finally:
        theirs = other.finish()
    assert sorted([mine, theirs]) == [[("parallel_approval", 2, "created")], [("parallel_approval", 3, "created")]]
    names = {v["version"]: v["name"] for v in engine.versions.list("parallel_approval")["versions"]}
    assert sorted(names) == [1, 2, 3] and {names[2], names[3]} == {"并联审批（甲）", "并联审批（乙）"}


def test_two_deploys_of_the_same_new_content_at_once_create_one_version(engine, interleave_after_next_version):
    """The same new diagram deployed twice at once: one deploy creates version 2, the other finds it unchanged."""
    deploy_shipped(engine)
    xml = retitled(parallel_v1(), "并联审批（新）")
    other = interleave_after_next_version(lambda: status(engine.handle(DeployDefinitions(
        (("parallel_approval/main.bpmn", xml),), actor=DESIGNER))))
    try:
        mine = status(engine.handle(DeployDefinitions((("parallel_approval/main.bpmn", xml),), actor=DESIGNER)))
    finally:
        theirs = other.finish()
    assert sorted([mine, theirs]) == [[("parallel_approval", 2, "created")], [("parallel_approval", 2, "unchanged")]]


def test_a_version_clash_no_lock_prevented_is_refused_as_deploy_concurrent(engine, interleave_after_next_version,
                                                                           monkeypatch, database_url):
    """Should two deploys still compute the same version (a server without the key locks), the loser gets a 409.

    ``DEPLOY_CONCURRENT`` with nothing written, not the database's unique-key error. SQLite serializes the two
    deploys whole, so there both versions are created.
    """
    monkeypatch.setattr("engine.deployment.lock_keys", lambda uow, keys: None)
    deploy_shipped(engine)
    other = interleave_after_next_version(lambda: status(engine.handle(DeployDefinitions(
        (("parallel_approval/main.bpmn", retitled(parallel_v1(), "并联审批（乙）")),), actor=DESIGNER))))
    try:
        try:
            mine: Any = status(engine.handle(DeployDefinitions(
                (("parallel_approval/main.bpmn", retitled(parallel_v1(), "并联审批（甲）")),), actor=DESIGNER)))
        except Conflict as exc:
            mine = exc.code
    finally:
        theirs = other.finish()
    if database_url.startswith("postgresql"):
        assert (mine, theirs) == ("DEPLOY_CONCURRENT", [("parallel_approval", 2, "created")])
        assert [v["version"] for v in engine.versions.list("parallel_approval")["versions"]] == [2, 1]
    else:
        assert sorted([mine, theirs]) == [[("parallel_approval", 2, "created")],
                                          [("parallel_approval", 3, "created")]]
