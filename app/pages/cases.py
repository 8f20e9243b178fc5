"""The case page (summary, materials, clocks, tasks, timeline), its material files and the bpmn-js diagram."""
from __future__ import annotations

from typing import Any

from flask import Response, render_template

from ..auth import current_actor
from ..material_files import file_response
from ..runtime import get_engine
from . import bp, login_required
from .labels import materials


@bp.get("/cases/<int:case_id>")
@login_required
def case(case_id: int) -> Any:
    """Show a case you may see (404 otherwise)."""
    actor, engine = current_actor(), get_engine()
    detail = engine.queries.case(actor, case_id)
    current = [t for t in detail["tasks"] if t["state"] == "open"]
    # Only the tasks whose page the viewer may open are links (the task page's own rule, one query for all).
    openable = engine.queries.openable_tasks(actor, [t["id"] for t in detail["tasks"]])
    return render_template(
        "pages/case.html", case=detail, events=engine.queries.events(case_id), openable=openable,
        materials=materials(engine.documents.started_data(actor, case_id), engine.materials.list(actor, case_id)),
        highlight=sorted({t["element_id"] for t in current}), highlight_names=[t["name"] for t in current])


@bp.get("/cases/<int:case_id>/diagram.bpmn")
@login_required
def diagram(case_id: int) -> Any:
    """Send the BPMN XML of the case's pinned definition version."""
    xml = get_engine().documents.diagram(current_actor(), case_id)
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/cases/<int:case_id>/materials/<material_key>")
@login_required
def case_material(case_id: int, material_key: str) -> Any:
    """Download a material's file (checked and recorded in the access log; errors as a page)."""
    return file_response(get_engine().materials.open(current_actor(), case_id, material_key))
