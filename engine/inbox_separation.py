"""职责分离 in the inbox: tell a reader, before they try, which offered tasks they may not take, and why.

The rule itself is :func:`engine.separation.find_conflict`; the claim and the completion enforce it. Listing
an unclaimed task to someone the rule excludes used to end in a 409 at claim; now the row carries the same
Chinese reason (``separated``) so the page can show it and withhold the claim button. The check costs one
indexed query per page, and only when a row on the page is an unclaimed task whose element declares
``separateFrom``; the filtering stays in the claim (a page is chosen by the indexes alone, so dropping rows
here would break the keyset pages and their counts).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .deployment import LoadedDefinition
from .persistence.case_repository import performed_tasks_statement
from .separation import find_conflict

DefinitionLookup = Callable[[int], LoadedDefinition]


class SeparationMarks:
    """Annotates inbox rows with ``separated``: the reason the reader may not take the task, or None."""

    def __init__(self, definition: DefinitionLookup):
        self._definition = definition

    def annotate(self, session: Any, username: str, rows: Sequence[Any], items: list[dict[str, Any]]) -> None:
        """Set ``items[i]["separated"]`` for each row.

        ``rows[i]`` holds the task's columns and ``case_definition_id``.
        """
        bound: list[tuple[int, Any, LoadedDefinition]] = []
        for index, row in enumerate(rows):
            items[index]["separated"] = None
            if row.state != "open" or row.assignee is not None:
                continue  # mine already (the claim was allowed), or no longer offered
            definition = self._definition(row.case_definition_id)
            info = definition.user_tasks.get(row.element_id)
            if info is not None and info.separate_from:
                bound.append((index, row, definition))
        if not bound:
            return
        elements = {e for _, row, d in bound for e in d.user_tasks[row.element_id].separate_from}
        performed = session.execute(performed_tasks_statement(
            [row.case_id for _, row, _ in bound], elements, username)).all()
        for index, row, definition in bound:
            refusal = find_conflict(definition, row, performed, username)
            items[index]["separated"] = refusal.message if refusal is not None else None
