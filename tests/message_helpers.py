"""The ping/pong collaboration (tests/data/processes/ping_pong.bpmn) the message tests drive."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import Actor, ClaimTask, CompleteTask, DeployDefinitions, StartCase
from engine.persistence.models import Case, CaseEvent, Message
from tests.conftest import ROOT

CLERK = Actor("window_yz", ("window_clerk",), "500103", "zwzx")
ADMIN = Actor("admin", ("admin",), "500000", "dsj")
PING_PONG = ROOT / "tests" / "data" / "processes" / "ping_pong.bpmn"


def deploy(engine: Any, data: bytes | None = None) -> None:
    """Deploy the ping/pong collaboration (or a changed copy of it)."""
    engine.handle(DeployDefinitions((("ping_pong.bpmn", data or PING_PONG.read_bytes()),)))


def start_ping(engine: Any, topic: str = "t") -> int:
    """Start a ping case and let it throw its ping (it then waits at ``hold``)."""
    ref = engine.handle(StartCase("ping", CLERK, {"topic": topic}))
    complete(engine, ref.case_id, "prepare", {})
    return ref.case_id


def complete(engine: Any, case_id: int, element_id: str, data: dict[str, Any]) -> None:
    """Claim and complete the case's open task at ``element_id``."""
    tasks = [t for t in engine.queries.case(ADMIN_VIEW, case_id)["tasks"]
             if t["element_id"] == element_id and t["state"] == "open"]
    assert len(tasks) == 1, (element_id, tasks)
    engine.handle(ClaimTask(tasks[0]["id"], CLERK))
    engine.handle(CompleteTask(tasks[0]["id"], CLERK, data))


ADMIN_VIEW = Actor("auditor", ("auditor",), "500000", "shenji")


def messages(engine: Any) -> list[Message]:
    """Every message row, oldest first."""
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def cases(engine: Any, process_key: str) -> list[Case]:
    """Every case of ``process_key``, oldest first."""
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(Case).where(Case.process_key == process_key).order_by(Case.id)))


def event_types(engine: Any, case_id: int) -> list[str]:
    """The audit event types of a case, in order."""
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(CaseEvent.event_type).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.seq)))


def open_elements(engine: Any, case_id: int) -> list[str]:
    """Element ids of the case's open tasks."""
    return [t["element_id"] for t in engine.queries.case(ADMIN_VIEW, case_id)["tasks"] if t["state"] == "open"]
