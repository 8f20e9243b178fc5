"""How a case opens when it does not simply start its matter's process at the none start event."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Opening:
    """Instructions for :func:`engine.case_start.open_case`.

    Attributes:
        process_key: run this process instead of the matter's (异地代收代办: the receiving district's
            collaboration process; a message start: the process that catches the message).
        begin: ``begin(spec, subprocess_specs, data) -> (workflow, step)`` replaces starting at the none
            start event, e.g. catching a message at a message start event.
        catalog_clocks: give the case the matter's 法定/承诺 clocks (the receiving district's case has none:
            the owning district's case carries them).
        clocks_from: start every clock at once, T0 on this instant's business date (the legal clock counted
            from 收件地受理 in another case), instead of waiting for the diagram's ``startsAt`` task.
        check_grant: check the receiving district's ``receive`` grant (off for a case the owning district
            opens from a handoff that was checked when it was received).
        data: added to the start data.
    """

    process_key: str | None = None
    begin: Callable[[Any, dict[str, Any], dict[str, Any]], tuple[Any, Any]] | None = None
    catalog_clocks: bool = True
    clocks_from: datetime | None = None
    check_grant: bool = True
    data: Mapping[str, Any] = field(default_factory=dict)
