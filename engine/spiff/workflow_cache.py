"""Committed workflows kept in memory between commands, so a hot case skips deserializing its snapshot."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class WorkflowCache:
    """Recently written workflows kept in memory, keyed by case and row version, to skip deserializing.

    An entry is taken out (popped) by the command that uses it, so no two threads ever hold one workflow;
    it is put back only after that command committed, under the case's new version. A command that fails
    never puts its (possibly half-advanced) workflow back, and any write by another process bumps the
    version, so a stale entry is never used: the snapshot in the database stays the truth.
    """

    def __init__(self, capacity: int = 512):
        self.capacity = capacity
        self._items: OrderedDict[int, tuple[int, int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int, definition_id: int) -> Any | None:
        """Remove and return the workflow of ``case_id`` if it is exactly at ``version``."""
        with self._lock:
            item = self._items.pop(case_id, None)
        if item is None or item[0] != version or item[1] != definition_id:
            return None
        return item[2]

    def put(self, case_id: int, version: int, definition_id: int, workflow: Any) -> None:
        """Remember a committed workflow under the case's new version."""
        if self.capacity <= 0:
            return
        with self._lock:
            current = self._items.get(case_id)
            if current is not None and current[0] > version:
                return
            self._items[case_id] = (version, definition_id, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
