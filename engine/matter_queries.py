"""The read side of the catalog of matters (事项目录): search it, read one entry with its version history.

:class:`MatterReads` gives :class:`engine.queries.Queries` its ``matters`` and ``matter``; :func:`matter_view` is
the entry as the API shows it, with the committed limit in force in the reader's district (one entry also with its
application form's fields, :func:`application_form_view`).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker, undefer

from .audit import canonical_json
from .bundle import PHONE_FIELD
from .calendar import business_date
from .catalog import Matter
from .category_limit import limit_view
from .errors import NotFound
from .forms import parse_form
from .persistence.models import FormVersion, MatterVersion
from .project_targets import TargetTable


class MatterReads:
    """Catalog reads, mixed into :class:`~engine.queries.Queries` (its sessions, clock and category targets)."""

    sessions: sessionmaker[Session]
    targets: TargetTable | None
    _now: Callable[[], datetime]

    def matters(self, *, q: str | None = None, district: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
        """Search the catalog (newest version of each matter) by name or code; ``district``: offered there."""
        newest = (select(MatterVersion.code, func.max(MatterVersion.version).label("version"))
                  .group_by(MatterVersion.code).subquery())
        stmt = (select(MatterVersion).join(newest, and_(MatterVersion.code == newest.c.code,
                                                        MatterVersion.version == newest.c.version))
                .order_by(MatterVersion.name, MatterVersion.code))
        if q:
            pattern = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(MatterVersion.name.like(pattern, escape="\\"),
                                  MatterVersion.code.like(pattern, escape="\\")))
        with self.sessions() as session:
            rows = session.scalars(stmt).all()
        found = []
        for row in rows:
            matter = Matter.from_doc(row.doc)
            if district and not matter.offered_in(district):
                continue
            found.append(matter_view(row, district, self.targets, business_date(self._now())))
            if len(found) >= limit:
                break
        return found

    def matter(self, code: str, *, version: int | None = None, district: str | None = None) -> dict[str, Any]:
        """Return one catalog entry (the newest unless a version is asked for) with its version history."""
        with self.sessions() as session:
            rows = session.scalars(select(MatterVersion).where(MatterVersion.code == code)
                                   .order_by(MatterVersion.version.desc())).all()
        chosen = next((r for r in rows if version in (None, r.version)), None)
        if chosen is None:
            raise NotFound(f"事项 {code}{f' 第 {version} 版' if version else ''} 不存在", details={"code": code})
        view = matter_view(chosen, district, self.targets, business_date(self._now()))
        if view["application_form"] is not None:
            with self.sessions() as session:
                form = session.scalar(select(FormVersion).options(undefer(FormVersion.source)).where(
                    FormVersion.form_key == view["application_form"]["key"],
                    FormVersion.content_hash == view["application_form"]["content_hash"]))
                view["application_form"] = application_form_view(form) if form is not None else None
        view["versions"] = [{"version": r.version, "content_hash": r.content_hash, "deployed_at": r.deployed_at,
                             "deployed_by": r.deployed_by} for r in rows]
        return view


def matter_view(row: MatterVersion, district: str | None, targets: TargetTable | None, on: date) -> dict[str, Any]:
    """A catalog entry as the API shows it; the committed limit is the one in force in ``district``.

    A committed limit set per project category lists each category's figure in force on ``on`` (today) from
    ``targets`` (:func:`engine.category_limit.limit_view`).
    """
    doc = dict(row.doc)
    matter = Matter.from_doc(doc)
    override = doc["overrides"].get(district or "", {})
    pinned = matter.application_form
    doc.pop("application_form_hash", None)
    doc["application_form"] = {"key": pinned[0], "content_hash": pinned[1]} if pinned else None
    return {**doc, "version": row.version, "content_hash": row.content_hash, "deployed_at": row.deployed_at,
            "committed_limit": limit_view(matter.committed_limit_in(district), targets, on),
            "agency": override.get("agency", doc.get("agency")), "window": override.get("window")}


def application_form_view(row: FormVersion) -> dict[str, Any]:
    """A matter's application form (申请表单) as the catalog shows it: which form, and what to send in ``form``.

    ``fields`` lists each data field (dotted key, label, form-js type, required, the allowed option values and
    the ``validate`` rules); ``source`` is the form-js JSON the pages render; ``filled`` the fields intake fills
    in itself when left out (``contact_phone``, from the application's phone, as for a 一件事's form).
    """
    form = parse_form(canonical_json(row.source), expected_key=row.form_key, stored=True)
    return {"key": row.form_key, "version": row.version, "content_hash": row.content_hash, "source": row.source,
            "filled": [PHONE_FIELD],
            "fields": [{"key": f.key, "label": f.label, "type": f.type, "required": f.required,
                        "options": list(f.options), "validate": dict(f.rules)}
                       for f in form.fields if not f.readonly]}
