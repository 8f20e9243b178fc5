"""Deploy and list process definitions."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from engine import DeployDefinitions, InvalidInput, is_bundle_file, is_catalog_file

from ..auth import current_actor, require_role, require_user
from ..runtime import get_engine
from ..schemas import DefinitionSchema, DeployedSchema
from . import Blueprint

blp = Blueprint("definitions", __name__, url_prefix="/api/v1/definitions",
                description="流程定义：部署与版本")


@blp.route("")
class Definitions(MethodView):
    """The collection of deployed definitions."""

    @require_user
    @blp.response(200, DefinitionSchema(many=True))
    def get(self) -> Any:
        """List deployed definitions, newest version first."""
        return get_engine().queries.definitions()

    @require_role("designer", code="DEPLOY_FORBIDDEN")
    @blp.response(201, DeployedSchema(many=True), description="至少有一个文件产生了新版本")
    @blp.alt_response(200, schema=DeployedSchema(many=True), description="所有文件都与已部署的版本相同，未产生新版本")
    @blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}})
    def post(self) -> Any:
        """Deploy uploaded .bpmn, .form, matter catalog (matters.yaml) and bundle (bundle.yaml) files (field ``files``).

        Designers only. Unchanged files keep their version; everything is deployed or nothing is; each new
        version is recorded in the definition log. 201 when a new version was created, 200 when every file was
        already deployed as it is (nothing created).
        """
        bpmn, forms = uploaded_files()
        report = get_engine().handle(DeployDefinitions(bpmn, forms, actor=current_actor()))
        lines = [line.to_dict() for line in report]
        return lines, 201 if any(line["status"] == "created" for line in lines) else 200


def uploaded_files() -> tuple[tuple[tuple[str, bytes], ...], tuple[tuple[str, bytes], ...]]:
    """Split the request's ``files`` into (BPMN, catalog and bundle files) and form files; refuse anything else."""
    uploads = request.files.getlist("files")
    if not uploads:
        raise InvalidInput("请上传至少一个 .bpmn、.form 或 matters.yaml 文件（字段名 files）")
    bpmn = tuple((f.filename or "upload.bpmn", f.read()) for f in uploads
                 if _ext(f.filename) == "bpmn" or is_catalog_file(f.filename or "")
                 or is_bundle_file(f.filename or ""))
    forms = tuple((f.filename or "upload.form", f.read()) for f in uploads if _ext(f.filename) == "form")
    if len(bpmn) + len(forms) != len(uploads):
        raise InvalidInput("只接受 .bpmn、.form、事项目录（matters.yaml 或 *.matters.yaml）"
                           "和一件事映射（bundle.yaml）文件")
    return bpmn, forms


def _ext(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1].lower()
