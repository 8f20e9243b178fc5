"""The ``handoff`` entry of a matter in the catalog (异地代收代办): which process, where the clock starts."""
from __future__ import annotations

import re
from typing import Any

HANDOFF_CLOCK_STARTS = {"receiving": "收件地受理时起算", "arrival": "业务属地收到材料时起算"}


def check_handoff(check: Any, node: Any, modes: tuple[str, ...], process_key: re.Pattern[str]) -> dict[str, Any] | None:
    """``handoff: {process, clock_starts: receiving|arrival, transfer_limit: {amount, unit}}`` (异地代收代办).

    ``process`` is the receiving district's collaboration process; ``clock_starts`` says whether the legal
    clock starts at 收件地受理 (``receiving``: the receiving window's last 形式审查, when it found the application
    complete; after one that found it incomplete, the owning district's 到件受理 decides and starts it) or when the
    owning district signs for the handed-over application (``arrival``); ``transfer_limit`` is the transfer leg's
    budget.
    """
    if node is None or node.value is None:
        return None
    value = node.value
    if not isinstance(value, dict):
        check.fail("TB_CATALOG_HANDOFF", "handoff 应写成 {process, clock_starts, transfer_limit}", node.line)
        return None
    for key in set(value) - {"process", "clock_starts", "transfer_limit"}:
        check.fail("TB_CATALOG_HANDOFF", f"handoff 的未知字段 {key}；可用 process、clock_starts、transfer_limit",
                   value[key].line)
    if "proxy" not in modes:
        check.fail("TB_CATALOG_HANDOFF", "配置了 handoff（异地代收代办）的事项，modes 须包含 proxy", node.line)
    process = check.text(value, "process", node.line, what="收件地协同流程的 process key", pattern=process_key)
    starts = value.get("clock_starts")
    if starts is None or starts.value not in HANDOFF_CLOCK_STARTS:
        check.fail("TB_CATALOG_HANDOFF", "handoff.clock_starts 应为 receiving（收件地受理时起算）或 arrival"
                                         "（业务属地收到材料时起算）", starts.line if starts else node.line)
    transfer = check.limit(value.get("transfer_limit"), "transfer_limit", "移交时限", node.line)
    if transfer is not None and transfer.amount == 0:
        check.fail("TB_CATALOG_HANDOFF", "handoff.transfer_limit（移交时限）至少 1 天", value["transfer_limit"].line)
    if process is None or starts is None or starts.value not in HANDOFF_CLOCK_STARTS or transfer is None:
        return None
    return {"process": process, "clock_starts": starts.value, "transfer_limit": transfer.to_dict()}
