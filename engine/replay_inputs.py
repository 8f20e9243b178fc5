"""What replay reads from the store besides the events, checked and cut back to the recorded instant.

Two facts a case's commands read are not in its event log and could have changed since it ran:

* **The definition store.** A case is pinned to a diagram version by content hash. Before anything is
  replayed, every version its events name (``CaseStarted``, each ``CaseMigrated``) must still be in the
  store (else :class:`DefinitionMissing`) and its BPMN, resources, form references and bundle mapping must
  still hash to the content hash recorded with it, as must each form version it pins (else
  :class:`DefinitionChanged`). Replaying on a deleted or edited definition would only produce a
  misleading divergence; it is refused with the reason instead. A version is looked up by the content hash
  its event records, so an *edited* hash (e.g. on a migrated case, whose row points at the newer version)
  names no stored version either: when the event that names the missing version no longer matches its own
  hash, the cause is the edited record, and replay says so (:class:`ChainBroken`, with the chain's first
  broken link and its reason, as ``tongban verify`` reports it) instead of blaming the store.
* **Grants (全渝通办授权).** Revoking a grant keeps its row but stamps ``revoked_at``, and a grant added
  later is a new row. Authority is judged against the grants table, so the scratch database holds, before
  each replayed command, the grants as they stood at its recorded instant (:class:`GrantsAsOf`): rows
  created by then, with a later revocation not yet applied. Expiry needs nothing more: ``valid_to`` is
  compared with the replay clock, which stands at the recorded instant.

Each refusal names the version (and form) it is about by values from the record: a process key, a version, a
content hash from the events or from a history file's seed rows, which anyone may have written. So each value
is quoted bounded and escaped (:func:`_quoted`, at most :data:`QUOTED_CHARS` characters: any key or hash the
store holds shows whole) in the message and in ``details`` (:func:`_kept`; a version number stays a number),
which ``replay --file`` prints and the API returns with its 409.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import delete, insert

from .audit import canonical_json, event_hash, verify_chain
from .definitions import definition_content_hash
from .errors import Conflict
from .file_echo import clipped
from .persistence.models import Grant
from .verification import chinese_reason


QUOTED_CHARS = 128
"""How many characters of a value from the record a refusal quotes (then ``…``): a process or form key holds
at most 128 in the store, a content hash 64."""
_INT64 = 2 ** 63
"""A version number ``details`` keeps as a number lies within a signed 64-bit integer (a longer one is text)."""


class DefinitionMissing(Conflict):
    """A definition or form version the case is pinned to is no longer in the store (HTTP 409)."""

    code = "DEFINITION_MISSING"


class ChainBroken(Conflict):
    """The event naming a pinned version fails the hash chain: the record was edited, replay cannot start (409)."""

    code = "CHAIN_BROKEN"


class DefinitionChanged(Conflict):
    """A stored definition or form version no longer hashes to its recorded content hash (HTTP 409)."""

    code = "DEFINITION_CHANGED"


@dataclass(frozen=True)
class PinnedVersion:
    """A definition version named by the case's events: process key, version and content hash."""

    process_key: str
    version: int
    content_hash: str
    seq: int = 0
    """The number of the event that names it (its CaseStarted or CaseMigrated)."""


def pinned_versions(recorded: Iterable[Any]) -> list[PinnedVersion]:
    """The versions a case's events name: the one it started on and every one a migration moved it to."""
    found: dict[tuple[Any, Any], PinnedVersion] = {}
    for event in recorded:
        p = event.payload
        if event.event_type == "CaseStarted" and "definition_version" in p:
            pin = PinnedVersion(p.get("process_key"), p["definition_version"], p.get("content_hash") or "", event.seq)
        elif event.event_type == "CaseMigrated" and "to_version" in p:
            pin = PinnedVersion(p.get("process_key"), p["to_version"], p.get("to_hash") or "", event.seq)
        else:
            continue
        found.setdefault((_key(pin.process_key), _key(pin.version)), pin)
    return list(found.values())


def check_pinned_definitions(recorded: Iterable[Any], definitions: Iterable[Mapping[str, Any]],
                             forms: Iterable[Mapping[str, Any]]) -> None:
    """Refuse replay when a pinned definition (or a form it pins) is not among the store's rows or was edited.

    ``definitions`` and ``forms`` are the ``process_definitions`` and ``form_versions`` rows read for the case
    (:class:`engine.case_history.CaseHistory`): its pinned versions by id and content hash.

    Raises:
        DefinitionMissing: a version named by the events, or a form version it pins, is not stored.
        DefinitionChanged: a stored version's content no longer hashes to its content hash.
    """
    rows = {(row["process_key"], row["version"]): row for row in definitions}
    pinned_forms: dict[tuple[str, str], PinnedVersion] = {}
    for pin in pinned_versions(recorded):
        row = rows.get((_key(pin.process_key), _key(pin.version)))
        if row is None:
            raise DefinitionMissing(f"办件锁定的流程定义 {_pinned(pin)}已不在定义库中，无法重放", details=_details(pin))
        bundle = (row["meta"] or {}).get("bundle")
        recomputed = definition_content_hash(row["bpmn_xml"], row["resources"] or {}, row["form_refs"] or {},
                                             bundle)
        if recomputed != row["content_hash"]:
            raise DefinitionChanged(
                f"定义库中的流程定义 {_quoted(pin.process_key)} 第 {_quoted(pin.version)} 版已被改动：按现存内容计算的"
                f"哈希为 {recomputed}，与记录的内容哈希 {_quoted(row['content_hash'])} 不符，无法重放",
                details={**_details(pin), "stored_hash": _kept(row["content_hash"]), "recomputed_hash": recomputed})
        refs = dict(row["form_refs"] or {})
        if bundle is not None:
            refs[bundle["form"]] = bundle["form_hash"]
        pinned_forms.update({(key, _key(value)): pin for key, value in refs.items()})
    _check_forms({(f["form_key"], f["content_hash"]): f for f in forms}, pinned_forms)


def check_pins_against_chain(history: Any) -> None:
    """Check ``history``'s pinned definitions (:func:`check_pinned_definitions`), blaming an edited record first.

    ``history`` is a :class:`engine.case_history.CaseHistory`. When a pinned version is missing and the event
    that names it no longer matches its own hash, that event was edited: the chain's first broken link is named.

    Raises:
        ChainBroken: the version is missing because its naming event (or an earlier one) was edited.
        DefinitionMissing, DefinitionChanged: as :func:`check_pinned_definitions`.
    """
    try:
        check_pinned_definitions(history.events, history.definitions, history.forms)
    except DefinitionMissing as missing:
        # A form version is found through the definition row, not through an event: only a missing definition
        # version can be the doing of an edited event.
        broken = None if "form_key" in missing.details else first_broken_link(history, missing.details.get("seq"))
        if broken is None:
            raise
        seq, reason = broken
        # The details of the refusal it replaces are bounded already (_details): quoted as they are.
        raise ChainBroken(
            f"办件 {history.case_no} 的审计记录已被改动：链条断裂于第 {seq} 个事件：{reason}。其中记录的流程定义"
            f"（{missing.details.get('process_key')} 第 {missing.details.get('version')} 版，内容哈希 "
            f"{missing.details.get('content_hash')}）不在定义库中是改动所致，无法重放；请用 tongban verify 核对",
            details={**missing.details, "broken_seq": seq, "reason": reason}) from missing


def first_broken_link(history: Any, naming_seq: int | None) -> tuple[int, str] | None:
    """The chain's first broken link, as verify names it, when event ``naming_seq`` was edited.

    Returns (seq, Chinese reason) when that event no longer matches its own hash, None while it is intact.
    """
    event = next((e for e in history.events if e.seq == naming_seq), None) if naming_seq else None
    if event is None or event.hash == event_hash(
            event.prev_hash, case_no=history.case_no, seq=event.seq, event_type=event.event_type,
            occurred_at=event.occurred_at, actor=event.actor, element_id=event.element_id, task_id=event.task_id,
            payload=event.payload):
        return None
    check = verify_chain(e.chained(history.case_no) for e in history.events if e.seq <= event.seq)
    return check.broken_seq or event.seq, chinese_reason(check.reason) or ""


def _check_forms(stored: Mapping[tuple[str, str], Mapping[str, Any]],
                 pinned: Mapping[tuple[str, str], PinnedVersion]) -> None:
    for (key, content_hash), pin in sorted(pinned.items()):
        row = stored.get((key, content_hash))
        where = f"流程定义 {_pinned(pin)}锁定的表单 {_quoted(key)}"
        form = {**_details(pin), "form_key": _kept(key), "form_hash": _kept(content_hash)}
        if row is None:
            raise DefinitionMissing(f"{where}（内容哈希 {_quoted(content_hash)}）已不在定义库中，无法重放",
                                    details=form)
        recomputed = hashlib.sha256(canonical_json(row["source"]).encode()).hexdigest()
        if recomputed != content_hash:
            raise DefinitionChanged(
                f"{where}第 {_quoted(row['version'])} 版已被改动：按现存内容计算的哈希为 {recomputed}，与记录的内容"
                f"哈希 {_quoted(content_hash)} 不符，无法重放", details={**form, "recomputed_hash": recomputed})


def _pinned(pin: PinnedVersion) -> str:
    """The pinned version as a refusal names it: ``key 第 N 版（内容哈希 …）``, each value :func:`_quoted`."""
    return f"{_quoted(pin.process_key)} 第 {_quoted(pin.version)} 版（内容哈希 {_quoted(pin.content_hash)}）"


def _details(pin: PinnedVersion) -> dict[str, Any]:
    """The pinned version as ``details`` give it, each value from the record :func:`_kept` (``seq`` is the event's)."""
    return {"process_key": _kept(pin.process_key), "version": _kept(pin.version),
            "content_hash": _kept(pin.content_hash), "seq": pin.seq}


def _key(value: Any) -> Any:
    """A value from the record as a lookup key: a list or an object (which names no stored row) as its JSON text."""
    return canonical_json(value) if isinstance(value, (dict, list)) else value


def _quoted(value: Any) -> str:
    """A value from the record as a message quotes it: bounded (:data:`QUOTED_CHARS`) and escaped."""
    return clipped(value, QUOTED_CHARS)


def _kept(value: Any) -> Any:
    """A value from the record as ``details`` keep it: a number (within 64 bits) or null as is, else :func:`_quoted`."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64):
        return value
    return _quoted(value)


def grants_as_of(rows: Iterable[Mapping[str, Any]], instant: datetime) -> list[dict[str, Any]]:
    """The grant rows as they stood at ``instant``: created by then, revoked only if revoked by then."""
    found = []
    for row in rows:
        if row["created_at"] > instant:
            continue
        if row["revoked_at"] is not None and row["revoked_at"] > instant:
            row = {**row, "revoked_at": None, "revoked_by": None, "revoke_reason": None}
        found.append(dict(row))
    return found


@dataclass
class GrantsAsOf:
    """The source grant rows of a case's matter, written into a scratch database as of each command."""

    rows: list[dict[str, Any]]
    _seeded: list[dict[str, Any]] | None = field(default=None, init=False)

    def apply(self, scratch: Any, instant: datetime) -> None:
        """Make ``scratch``'s grants table hold the grants in force-or-known at ``instant`` (no-op if unchanged)."""
        wanted = grants_as_of(self.rows, instant)
        if wanted == self._seeded:
            return
        with scratch.database.writer.begin() as conn:
            conn.execute(delete(Grant.__table__))
            if wanted:
                conn.execute(insert(Grant.__table__), wanted)
        self._seeded = wanted
