"""Helpers shared by integration, scenario and benchmark code paths in tests."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Mapping

from sqlalchemy import event

from engine import Actor, DeployDefinitions, Engine
from engine.audit import CALENDAR_GENERATION, STATE_DIGEST

CLERK = Actor("window_yz", ("window_clerk",), "500103", "zwzx")
ZHUJIAN = Actor("reviewer_zj", ("reviewer",), "500103", "zhujian")
GUIHUA = Actor("reviewer_gh", ("reviewer",), "500103", "guihua")
XIAOFANG = Actor("reviewer_xf", ("reviewer",), "500103", "xiaofang")
ZHUJIAN_2 = Actor("reviewer_zj2", ("reviewer",), "500103", "zhujian")
OUTSIDER = Actor("window_wz", ("window_clerk",), "500101", "zwzx")
ACCEPT = {"decision": "accept", "opinion": "材料齐全，予以受理", "materials_complete": True}
APPROVE = {"approved": "approve", "opinion": "同意"}


def deploy_shipped(engine: Engine) -> list:
    """Deploy everything in processes/ and forms/."""
    bpmn, forms = engine.shipped_files()
    return engine.handle(DeployDefinitions(tuple(bpmn), tuple(forms)))


def recorded(payload: Mapping[str, Any]) -> dict[str, Any]:
    """An event's payload without the chain's stamps (the command's calendar generation, the snapshot digest)."""
    return {k: v for k, v in payload.items() if k not in (CALENDAR_GENERATION, STATE_DIGEST)}


def open_task(engine: Engine, actor: Actor, element_id: str) -> dict:
    """Return the one open task at ``element_id`` visible to ``actor``."""
    items = [t for t in engine.queries.tasks(actor, limit=200).items if t["element_id"] == element_id]
    assert len(items) == 1, items
    return items[0]


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """Collect every SQL statement the engine's database executes inside the block."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            seen.append(statement)
    event.listen(engine.database.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.database.engine, "before_cursor_execute", before)
