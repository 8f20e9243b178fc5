"""The history page for auditors: chain check, the path on the diagram, the timeline, the state at an event.

Auditors and admins also see the case's material downloads (材料查阅记录), newest first, 50 at a time: the
「更早的记录」 row loads the next page by the access log's cursor (htmx), or opens the page at it without
JavaScript.

Submitted data (the timeline's 提交数据 and the state's 数据) is shown in words: each key under the label the
case's pinned forms give it, option values as their option labels (:func:`form_view.described`).

A replay verdict shows the recorded and replayed event side by side, each value bounded (:func:`_shown`): the
record may hold a megabyte payload or a direction control, which the API returns as recorded but a page does
not render. The timeline bounds what it shows of an event's data and details the same way (:meth:`_Words.event`,
:meth:`_Words.text`), with limits above any legitimate value, so only a tampered record is ever cut.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

from flask import render_template, request
from markupsafe import Markup

from engine import (
    ACCESS_OUTCOMES, Conflict, clipped, may_audit, may_read_access_log, replay_for, replay_report, shown_json,
    verify_for,
)

from ..auth import current_actor
from ..runtime import get_engine
from . import bp, form_view, login_required

PAGE_SIZE = 50
SHOWN_CHARS = 200
"""How many characters of each text of a divergent event the replay verdict shows (then ``…``)."""
EVENT_ROWS = (("event_type", "事件类型"), ("element_id", "环节"), ("actor", "办理人"), ("occurred_at", "时间"),
              ("task_id", "任务"), ("payload", "内容"))
"""The rows of a divergent event in the verdict's table: the field and its label."""
TEXT_CHARS = 5000
"""How many characters of a text of an event's data or details the timeline shows (then ``…``), unless a field
of the case's forms allows more (its ``validate.maxLength``): above the longest text a shipped form takes (2000)
and the API's reasons and comments (500), so only a tampered record is cut."""
DATA_CHARS = 50_000
"""How many characters of one event's data the timeline shows in all (then how many more entries there are); a
list or object shows this much of its JSON at most. Ten times what the largest shipped form takes."""
_JSON_DEPTH = 20
"""How deep the timeline's JSON of a list or object follows nested ones (deeper ones are ``…``)."""
_LAYOUT = re.compile(r"[\t\n\r\f\v]+")
"""Line breaks and tabs in a text, which a page shows as one space (and :func:`engine.clipped` would escape)."""
_HTML_SAFE_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})
"""What Jinja's ``tojson`` escapes in JSON put into HTML (as JSON escapes, so the text reads the same)."""


@bp.get("/cases/<int:case_id>/history")
@login_required
def history(case_id: int) -> Any:
    """Show the case's history; ``?seq=N`` opens the state as of event N (also without JavaScript)."""
    return _page(case_id)


@bp.post("/cases/<int:case_id>/history/replay")
@login_required
def history_replay(case_id: int) -> Any:
    """Replay the case (auditors) and show the verdict: an htmx fragment, or the page without JavaScript."""
    try:
        verdict = {"replay": _shown(replay_report(replay_for(get_engine(), current_actor(), case_id)))}
    except Conflict as exc:     # the pinned definition is gone or edited: said inline, with its code
        verdict = {"refused": exc}
    return _verdict(case_id, verdict)


@bp.get("/cases/<int:case_id>/history/verify")
@login_required
def history_verify(case_id: int) -> Any:
    """Verify the case's hash chain (auditors) and show the first broken link, as the replay verdict is shown."""
    return _verdict(case_id, {"verification": verify_for(get_engine(), current_actor(), case_id).to_dict()})


def _shown(report: dict[str, Any]) -> dict[str, Any]:
    """The replay report with its divergence's table ``rows``: label, recorded, replayed (None: no event), differs.

    Each value is bounded and escaped as text (:func:`engine.clipped`), a payload or a column of the case row as
    one line of JSON (:func:`engine.shown_json`, HTML-safe as Jinja's ``tojson``), so the verdict stays small
    whatever the record holds.
    """
    found = report["divergence"]
    if found is None:
        return report
    want, got = found["expected"], found["got"]
    if found["reason"] == "case_row":
        rows = [{"label": label, "expected": _json(want[key]), "got": _json(got[key]), "differs": True}
                for key, label in found["labels"].items()]
    else:
        rows = [{"label": label, "expected": _cell(want, key), "got": _cell(got, key),
                 "differs": (want or {}).get(key) != (got or {}).get(key)} for key, label in EVENT_ROWS]
    return {**report, "divergence": {**found, "rows": rows}}


def _cell(event: dict[str, Any] | None, key: str) -> str | None:
    if event is None:
        return None
    value = event.get(key)
    if key == "payload":
        return _json(value)
    return "—" if value is None else clipped(value, SHOWN_CHARS)


def _json(value: Any) -> Markup:
    """``value`` as one bounded line of JSON, safe in HTML as ``tojson`` makes it."""
    return Markup(shown_json(value, SHOWN_CHARS).translate(_HTML_SAFE_JSON))


def _data_json(value: dict[str, Any] | list[Any], limit: int) -> Markup:
    r"""A list or object of an event's data as one line of JSON, as ``tojson`` writes it, bounded and escaped.

    Keys are sorted; each text (key or value) is cut after ``limit`` characters (``…`` inside the quotes); the
    line stops after :data:`DATA_CHARS` characters with ``…``; each control, format or separator character is an
    escape (``\u202e``, which ``tojson`` leaves as it is); ``<``, ``>``, ``&`` and ``'`` are escaped as by
    ``tojson``. Data within the limits reads exactly as ``tojson`` writes it.
    """
    written, size = [], 0
    for piece in _json_pieces(value, limit, 0):
        written.append(piece)
        size += len(piece)
        if size > DATA_CHARS:
            break
    return Markup(clipped("".join(written), DATA_CHARS).translate(_HTML_SAFE_JSON))


def _json_pieces(value: Any, limit: int, depth: int) -> Iterator[str]:
    if isinstance(value, (dict, list)) and depth >= _JSON_DEPTH:
        yield "…"
    elif isinstance(value, dict):
        yield "{"
        for at, key in enumerate(sorted(value, key=str)):
            yield f"{', ' if at else ''}{_json_text(str(key), limit)}: "
            yield from _json_pieces(value[key], limit, depth + 1)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for at, item in enumerate(value):
            yield ", " if at else ""
            yield from _json_pieces(item, limit, depth + 1)
        yield "]"
    elif isinstance(value, str):
        yield _json_text(value, limit)
    else:   # a number, true, false or null: what JSON data holds besides texts, lists and objects
        yield json.dumps(value, default=str)


def _json_text(text: str, limit: int) -> str:
    quoted = json.dumps(text[:limit], ensure_ascii=False)
    return quoted[:-1] + '…"' if len(text) > limit else quoted


def _verdict(case_id: int, verdict: dict[str, Any]) -> Any:
    if request.headers.get("HX-Request"):
        return render_template("pages/history_verdict.html", case_id=case_id, **verdict)
    return _page(case_id, verdict)


def _page(case_id: int, verdict: dict[str, Any] | None = None) -> Any:
    actor, history = current_actor(), get_engine().history
    overview = history.overview(actor, case_id)
    page = history.timeline(actor, case_id, limit=PAGE_SIZE)
    seq = request.args.get("seq", type=int)
    state, error = _state(case_id, seq) if seq is not None else (None, None)
    before = request.args.get("downloads_before") or None
    downloads, downloads_cursor = _downloads(actor, case_id, before) if may_read_access_log(actor) else (None, None)
    return render_template("pages/history.html", overview=overview, page=page, state=state, state_error=error,
                           words=_Words(actor, case_id),
                           selected=seq, case_id=case_id, path={p["element_id"]: p["count"] for p in overview.path},
                           auditor=may_audit(actor), verdict=verdict or {}, downloads=downloads,
                           downloads_cursor=downloads_cursor, downloads_before=before, downloads_size=PAGE_SIZE)


def _downloads(actor: Any, case_id: int, before: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the case's recorded material downloads, newest first, after the cursor ``before`` (if any).

    The engine refuses a reader who may not read the access log (403) and a cursor that is malformed or made
    for another listing.
    """
    engine = get_engine()
    names = {m["key"]: m["name"] for m in engine.materials.list(actor, case_id)}
    found = engine.access_log.page(actor, case=str(case_id), limit=PAGE_SIZE, cursor=before)
    return ([dict(e.to_dict(), name=names.get(e.resource, e.resource), outcome_label=ACCESS_OUTCOMES[e.outcome])
             for e in found.items], found.next_cursor)


@bp.get("/cases/<int:case_id>/history/downloads")
@login_required
def history_downloads(case_id: int) -> Any:
    """Return the next material downloads after ``?before=CURSOR`` (htmx swaps them in for the 更早的记录 row)."""
    downloads, cursor = _downloads(current_actor(), case_id, request.args.get("before") or None)
    return render_template("pages/history_downloads.html", downloads=downloads, downloads_cursor=cursor,
                           case_id=case_id, more=True)


@bp.get("/cases/<int:case_id>/history/rows")
@login_required
def history_rows(case_id: int) -> Any:
    """Return the next timeline rows after ``?after=N`` (htmx swaps them in place of the 加载更多 row)."""
    after = request.args.get("after", 0, type=int)
    page = get_engine().history.timeline(current_actor(), case_id, after=after, limit=PAGE_SIZE)
    return render_template("pages/history_rows.html", page=page, case_id=case_id, selected=None, more=True,
                           words=_Words(current_actor(), case_id))


@bp.get("/cases/<int:case_id>/history/<int:seq>")
@login_required
def history_state(case_id: int, seq: int) -> Any:
    """Return the state panel as of event ``seq`` (htmx partial)."""
    state, error = _state(case_id, seq)
    return render_template("pages/history_state.html", state=state, state_error=error, case_id=case_id, seq=seq,
                           words=_Words(current_actor(), case_id) if state else None)


def _state(case_id: int, seq: int) -> tuple[dict[str, Any] | None, str | None]:
    # A replay that diverges cannot vouch for the state: the panel says so instead of failing the page.
    try:
        return get_engine().history.state_at(current_actor(), case_id, seq), None
    except Conflict as exc:
        return None, exc.message


@dataclass(frozen=True)
class Shown:
    """One entry of an event's data as the timeline shows it: key, label and value bounded (:meth:`_Words.event`).

    ``count`` is the number of items of a list or object, whose ``value`` is then its bounded JSON; else None.
    """

    key: str
    label: str
    value: Any
    count: int | None = None


class _Words:
    """The labels of a case's submitted data, from the forms its definition version pins.

    Data a task submitted is labelled by that task's form first (``opinion`` is 受理意见 in one form and 审查意见
    in another); the state's data by the forms of its completed tasks, the most recently created winning.
    """

    def __init__(self, actor: Any, case_id: int):
        engine = get_engine()
        forms = engine.documents.pinned_forms(actor, case_id)
        self._fields = {key: form_view.fields_of([source]) for key, source in forms.items()}
        self._any = form_view.fields_of(forms.values())
        self._forms = {t["element_id"]: t["form_key"] for t in engine.queries.case(actor, case_id)["tasks"]
                       if t["form_key"]}
        allowed = [item.rules.get("maxLength") for fields in self._fields.values() for item in fields.values()]
        self._limit = max([TEXT_CHARS, *(n for n in allowed if isinstance(n, int) and not isinstance(n, bool))])

    def of(self, data: dict[str, Any] | None, elements: list[str | None]) -> list[form_view.Entry]:
        """``data`` in words; the forms of ``elements`` come first, the last element's before the others."""
        fields = dict(self._any)
        for element in elements:
            fields.update(self._fields.get(self._forms.get(element or "", ""), {}))
        return form_view.described(data, fields)

    def event(self, event: dict[str, Any]) -> list[Shown]:
        """The data a timeline event carries, in words (a completed task's by its own form first), bounded.

        Each key, label and text is :meth:`text`; a list or object is its JSON (:func:`_data_json`). After
        :data:`DATA_CHARS` characters the remaining entries are only counted.
        """
        entries, shown, left = self.of(event.get("data"), [event.get("element_id")]), [], DATA_CHARS
        for at, entry in enumerate(entries):
            if left <= 0:
                shown.append(Shown("…", "…", f"另有 {len(entries) - at} 项未显示"))
                break
            value, count = entry.value, None
            if isinstance(value, (dict, list)):
                value, count = _data_json(value, self._limit), len(value)
            shown.append(Shown(self.text(entry.key), self.text(entry.label), self.text(value), count))
            left -= len(shown[-1].key) + len(shown[-1].label) + len(str(shown[-1].value))
        return shown

    def text(self, value: Any) -> Any:
        r"""``value`` (a text or a detail of an event) as the timeline shows it: bounded and escaped.

        A text shows its first characters (:data:`TEXT_CHARS`, or a longer ``maxLength`` of the case's forms),
        then ``…``, each control, format or separator character as ``\uXXXX`` (:func:`engine.clipped`); a bool,
        number, None or JSON already bounded shows as it is, anything else as bounded JSON.
        """
        if value is None or isinstance(value, (bool, int, float, Markup)):
            return value
        if isinstance(value, str):   # a line break or tab reads as a space in HTML: not as an escape
            value = _LAYOUT.sub(" ", value)
        return clipped(value, self._limit)

    def state(self, state: dict[str, Any]) -> list[form_view.Entry]:
        """The case's data as of an event, in words."""
        return self.of(state.get("data"), [t["element_id"] for t in state.get("tasks") or ()
                                           if t.get("state") == "completed"])
