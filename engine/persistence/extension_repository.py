"""Deadline extension requests: inserted by staff, locked when a head decides or the requester withdraws."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from .models import ExtensionRequest


class ExtensionRepository:
    """Extension requests of the cases; every writer locks the case first, so a request row never races."""

    def __init__(self, uow: Any):
        self.uow = uow

    def add(self, **columns: Any) -> ExtensionRequest:
        """Insert one request and return it with its id."""
        request = ExtensionRequest(**columns)
        self.uow.session.add(request)
        self.uow.session.flush()
        return request

    def open_for(self, case_id: int, clock: str) -> ExtensionRequest | None:
        """Return the case's open request for ``clock``, if any."""
        return self.uow.session.scalars(select(ExtensionRequest).where(
            ExtensionRequest.case_id == case_id, ExtensionRequest.clock == clock,
            ExtensionRequest.state == "open")).one_or_none()

    def lapse_open(self, case_id: int, clocks: tuple[str, ...], at: datetime) -> None:
        """Mark the case's open requests for ``clocks`` as ``lapsed`` at ``at`` (their clock period ended)."""
        self.uow.session.execute(update(ExtensionRequest).where(
            ExtensionRequest.case_id == case_id, ExtensionRequest.clock.in_(clocks),
            ExtensionRequest.state == "open").values(state="lapsed", decided_at=at)
            .execution_options(synchronize_session="fetch"))

    def get(self, request_id: int) -> ExtensionRequest | None:
        """Load one request without a lock (to find the case to lock first)."""
        return self.uow.session.get(ExtensionRequest, request_id)

    def lock(self, request_id: int) -> ExtensionRequest | None:
        """Load one request for update, fresh from the database even when :meth:`get` loaded it before."""
        return self.uow.session.scalars(select(ExtensionRequest).where(ExtensionRequest.id == request_id)
                                        .with_for_update().execution_options(populate_existing=True)).one_or_none()
