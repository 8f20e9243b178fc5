"""A matter catalog entry (事项目录) as deployed: the matter, its time limits and materials, and its lookups.

What the rest of the engine reads about a matter once :mod:`engine.catalog` has checked its YAML: the canonical
JSON form that is hashed and stored (``doc``), its rebuilding from storage (:meth:`Matter.from_doc`), and the
lookups intake, queries and receipts make (where it is offered, which committed limit applies in a district,
异地代收代办 settings, yellow thresholds). Also the vocabulary of its fields (modes, handling types, units)
and the column sizes its storage imposes.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

from .audit import canonical_json
from .category_limit import CategoryLimit

MODES = {"online": "全程网办", "proxy": "异地代收代办", "joint": "多地联办", "local": "就地批办"}
HANDLING = {"instant": "即办件", "commitment": "承诺件"}
UNITS = {"workday": "个工作日", "day": "日"}
MAX_NAME = 200
"""Longest 事项名称 (the ``matter_versions.name`` column)."""
MAX_SOURCE_NAME = 255
"""Longest catalog file name (the ``matter_versions.source_name`` column)."""
INTAKE_KEYS = frozenset({"applicant", "applicant_kind", "matter_code", "materials", "tolerance"})
"""Start data intake fills in itself from the application (:func:`engine.intake_checks.case_data`): no
application form may carry these names."""


@dataclass(frozen=True)
class Limit:
    """A time limit: ``amount`` working days (``workday``) or natural days (``day``)."""

    amount: int
    unit: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"amount": self.amount, "unit": self.unit}

    def __str__(self) -> str:
        return f"{self.amount} {UNITS[self.unit]}"


@dataclass(frozen=True)
class Material:
    """One item of a matter's materials list."""

    key: str
    name: str
    required: bool = True
    tolerance: bool = False
    license: str | None = None
    original: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"key": self.key, "name": self.name, "required": self.required, "tolerance": self.tolerance,
                "license": self.license, "original": self.original}


@dataclass(frozen=True)
class Matter:
    """A catalog entry as validated; ``doc`` is its canonical JSON form (what is hashed and stored)."""

    code: str
    name: str
    process_key: str
    handling: str
    legal_limit: Limit
    committed_limit: Limit | CategoryLimit
    modes: tuple[str, ...]
    districts: tuple[str, ...] | None
    materials: tuple[Material, ...]
    overrides: Mapping[str, Mapping[str, Any]]
    doc: Mapping[str, Any]
    source_name: str = ""
    line: int = 0
    committed_line: int = 0
    """The line of ``committed_limit`` in the catalog file (0 when rebuilt from storage)."""
    form_line: int = 0
    """The line of ``application_form`` in the catalog file (0 when rebuilt from storage or not given)."""

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the entry."""
        return hashlib.sha256(canonical_json(self.doc).encode()).hexdigest()

    def offered_in(self, district: str | None) -> bool:
        """Whether the matter is offered at ``district``'s windows (``districts: all`` offers it everywhere)."""
        return self.districts is None or district in self.districts

    @property
    def handoff(self) -> Mapping[str, Any] | None:
        """异地代收代办 settings (``process``, ``clock_starts``, ``transfer_limit``), None when not offered."""
        return self.doc.get("handoff")

    @property
    def application_form(self) -> tuple[str, str] | None:
        """The pinned application form (申请表单) as ``(form key, content hash)``; None without one.

        The deploy pins the form version the catalog names (``application_form_hash``): intake checks every
        application's ``form`` against that version until the entry is deployed again.
        """
        key, content_hash = self.doc.get("application_form"), self.doc.get("application_form_hash")
        return (key, content_hash) if key and content_hash else None

    @property
    def lights(self) -> Mapping[str, Any]:
        """The matter's yellow thresholds (``yellow_days``, ``yellow_ratio``); empty: the clock defaults."""
        return self.doc.get("lights") or {}

    @property
    def by_category(self) -> bool:
        """Whether the committed limit is set per project category (the targets table, not an amount)."""
        return isinstance(self.committed_limit, CategoryLimit)

    def committed_limit_in(self, district: str | None) -> Limit | CategoryLimit:
        """The committed limit that applies in ``district`` (an override may only shorten it).

        A limit set per project category is the same everywhere: a deploy refuses a district override of it.
        """
        override = self.overrides.get(district or "", {}).get("committed_limit")
        return Limit(**override) if override and not self.by_category else self.committed_limit

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Matter":
        """Rebuild a matter from its stored JSON form (already validated at deploy)."""
        return cls(
            code=doc["code"], name=doc["name"], process_key=doc["process"], handling=doc["handling"],
            legal_limit=Limit(**doc["legal_limit"]), committed_limit=_limit_from_doc(doc["committed_limit"]),
            modes=tuple(doc["modes"]), districts=None if doc["districts"] == "all" else tuple(doc["districts"]),
            materials=tuple(Material(**m) for m in doc["materials"]), overrides=doc["overrides"], doc=doc)


def _limit_from_doc(doc: Mapping[str, Any]) -> Limit | CategoryLimit:
    return CategoryLimit(**doc) if "by" in doc else Limit(**doc)
