"""Applicant accounts (全程网办), opened by the staff who verified the identity document (实名核验).

A window clerk (at the counter, with the applicant's ID card in hand) or an administrator opens the account;
the caller is recorded as the verifier. Self-registration is not offered (see README, 全程网办).
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine import VERIFIER_ROLES

from ..auth import current_actor, require_role
from ..runtime import get_engine
from ..schemas import Instant
from . import Blueprint

blp = Blueprint("applicants", __name__, url_prefix="/api/v1/applicants", description="申请人账号（实名核验后开通）")


class NewApplicantSchema(Schema):
    """An applicant account to open; the caller vouches for the identity document."""

    username = fields.String(required=True, validate=validate.Length(min=2, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"description": "证件姓名"})
    id_type = fields.String(load_default="111", metadata={"description": "证件类型代码 GA/T 2000.156"})
    id_number = fields.String(required=True, validate=validate.Length(min=1, max=32))
    password = fields.String(load_default=None, validate=validate.Length(max=128), load_only=True)


class ApplicantSchema(Schema):
    """An applicant account; the ID number masked."""

    username = fields.String()
    name = fields.String()
    id_type = fields.String()
    id_type_name = fields.String()
    id_number = fields.String()
    verified_by = fields.String(allow_none=True)
    verified_at = Instant(allow_none=True)


class ApplicantListSchema(Schema):
    """Every applicant account."""

    items = fields.List(fields.Nested(ApplicantSchema))


@blp.route("", methods=["POST"])
@require_role(*sorted(VERIFIER_ROLES))
@blp.arguments(NewApplicantSchema)
@blp.response(201, ApplicantSchema)
def create(body: dict[str, Any]) -> Any:
    """Open an applicant account after checking the identity document yourself (window clerks, admins)."""
    made = get_engine().applicant_accounts.add(body["username"], name=body["name"], id_type=body["id_type"],
                                               id_number=body["id_number"], password=body["password"],
                                               verified_by=current_actor().username)
    return made.to_dict()


@blp.route("", methods=["GET"])
@require_role("admin")
@blp.response(200, ApplicantListSchema)
def list_applicants() -> Any:
    """List the applicant accounts, ID numbers masked (admins)."""
    return {"items": [a.to_dict() for a in get_engine().applicant_accounts.list()]}
