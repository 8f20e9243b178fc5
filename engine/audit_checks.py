"""Auditors' checks on demand (API and pages): replay a case against its record, verify its hash chain.

Both are reserved to auditors (审计): the replay report shows recorded inputs and effects in full, and
either check may take seconds on a long case. The CLI (``tongban replay``, ``tongban verify``) is an
operator's tool and checks no role. Replays share the history's replayer, so the scratch template is
migrated once per engine and one replay runs at a time.
"""
from __future__ import annotations

from typing import Any

from .commands import Actor
from .errors import Forbidden
from .replay_case_row import NAMES as ROW_NAMES
from .replay_results import ReplayResult
from .verification import CaseVerification, verify_case

AUDIT_ROLES = frozenset({"auditor"})
"""Roles that may run a replay or a chain verification from the API and the pages."""


def may_audit(actor: Actor) -> bool:
    """Whether ``actor`` may replay cases and verify their chains."""
    return bool(AUDIT_ROLES.intersection(actor.roles))


def replay_for(engine: Any, actor: Actor, case_id: int) -> ReplayResult:
    """Replay one case for an auditor.

    Raises:
        Forbidden: ``AUDIT_FORBIDDEN`` for any other role.
        NotFound: the case does not exist.
        DefinitionMissing, DefinitionChanged: its pinned definition is gone from or edited in the store.
        ChainBroken: the event naming a missing pinned version was edited (the broken link is named).
    """
    _require(actor)
    return engine.history.states.replay_case(case_id)


def verify_for(engine: Any, actor: Actor, case_id: int) -> CaseVerification:
    """Verify one case's hash chain and its sealed daily heads for an auditor (Forbidden, NotFound as above)."""
    _require(actor)
    return verify_case(engine, case_id)


def replay_report(result: ReplayResult) -> dict[str, Any]:
    """The JSON shape of a replay: ``{case_id, case_no, identical, events, divergence | None}``."""
    found = result.divergence
    divergence = None if found is None else {"seq": found.seq, "reason": found.reason, "message": found.message,
                                             "expected": found.expected, "got": found.got}
    if divergence is not None and found.reason == "case_row":
        divergence["labels"] = {column: ROW_NAMES[column] for column in found.expected or {}}
    return {"case_id": result.case_id, "case_no": result.case_no, "identical": result.identical,
            "events": result.events, "divergence": divergence}


def _require(actor: Actor) -> None:
    if not may_audit(actor):
        raise Forbidden("重放核对与链条校验仅供审计人员（auditor 角色）使用", code="AUDIT_FORBIDDEN")
