"""Candidate groups: who may see and work a user task.

A diagram names candidates as ``role[@district[/department]]`` expressions. ``district`` and ``department``
are literal codes or references resolved against the case when the task becomes ready:
``${owning}`` (业务属地), ``${receiving}`` (收件地), ``${deciding}`` (the district that decides: the owning
district, or the receiving one where a 就地批办 grant lets it decide) or ``${name}`` (a value in the case data).
Examples::

    window_clerk@${receiving}            the receiving district's window
    reviewer@${owning}/zhujian           the owning district's 住建 reviewers
    reviewer@500103/zhujian              a fixed district and department
    window_clerk@CQ-LJXQ                 两江新区's window (functional zones have internal codes)
    supervisor                           every supervisor, any district

A user's groups are the same keys built from their roles, district and department, so visibility is a
set intersection that the inbox query does with an index.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .errors import WorkflowFailed

_ROLE = r"[a-z][a-z0-9_]{0,39}"
# District codes include the functional zones' internal codes (CQ-LJXQ), hence the hyphen.
_PART = r"(?:\$\{[A-Za-z][A-Za-z0-9_]{0,63}\}|[A-Za-z0-9_][A-Za-z0-9_-]{0,39})"
_EXPR = re.compile(rf"^(?P<role>{_ROLE})(?:@(?P<district>{_PART})(?:/(?P<department>{_PART}))?)?\Z")
_REF = re.compile(r"^\$\{(?P<name>[A-Za-z][A-Za-z0-9_]*)\}\Z")
_VALUE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,39}\Z")


class CandidateError(ValueError):
    """A candidate expression does not follow the grammar."""


@dataclass(frozen=True)
class CandidateExpr:
    """A parsed candidate expression; ``district``/``department`` may be ``${ref}`` placeholders."""

    role: str
    district: str | None = None
    department: str | None = None

    def resolve(self, case: Mapping[str, Any], data: Mapping[str, Any]) -> str:
        """Return the concrete group key for ``case`` (owning/receiving districts) and its ``data``."""
        district = _resolve_part(self.district, case, data)
        department = _resolve_part(self.department, case, data)
        return group_key(self.role, district, department)


def parse_candidate(text: str) -> CandidateExpr:
    """Parse one candidate expression or raise :class:`CandidateError` with a Chinese reason."""
    match = _EXPR.match(text.strip())
    if not match:
        raise CandidateError("应为 角色[@区县[/部门]]，区县和部门可写代码或 "
                             "${owning}、${receiving}、${deciding}、${变量}")
    return CandidateExpr(match["role"], match["district"], match["department"])


def is_reference(part: str | None) -> bool:
    """Whether a district or department part is a ``${...}`` placeholder rather than a literal code."""
    return part is not None and _REF.match(part) is not None


def resolve_groups(expressions: Iterable[str], case: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """Resolve every expression of a task into group keys, in order and without duplicates."""
    keys: list[str] = []
    for text in expressions:
        key = parse_candidate(text).resolve(case, data)
        if key not in keys:
            keys.append(key)
    return keys


def group_key(role: str, district: str | None = None, department: str | None = None) -> str:
    """Build the canonical group key ``role``, ``role@district`` or ``role@district/department``."""
    if district is None:
        return role
    return f"{role}@{district}" if department is None else f"{role}@{district}/{department}"


def user_groups(roles: Iterable[str], district: str | None, department: str | None) -> frozenset[str]:
    """Return every group key a user with these roles, district and department belongs to."""
    keys: set[str] = set()
    for role in roles:
        keys.add(role)
        if district:
            keys.add(group_key(role, district))
            if department:
                keys.add(group_key(role, district, department))
    return frozenset(keys)


def _resolve_part(part: str | None, case: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    if part is None:
        return None
    ref = _REF.match(part)
    if ref is None:
        return part
    name = ref["name"]
    if name == "deciding":
        value = case.get("deciding_district") or case.get("owning_district")
    else:
        value = case.get(f"{name}_district") if name in ("owning", "receiving") else data.get(name)
    if value is None or not _VALUE.match(str(value)):
        raise WorkflowFailed(f"候选组引用的 {part} 在本办件中没有有效取值", details={"reference": part})
    return str(value)
