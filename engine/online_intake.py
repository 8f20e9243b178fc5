"""全程网办: an applicant account applies online, under its own verified identity, for a matter offered online.

The application goes through the same checks, storage and case start as a window's intake
(:func:`engine.intake.take_in`) with three differences:

* the applicant is the account's identity, never what the body says (a different name or number is refused,
  ``IDENTITY_MISMATCH``); applying for a legal person makes the account its agent (授权代理), with the
  authorisation reference;
* 原件 cannot be verified online (``ORIGINAL_NOT_ONLINE``): they are checked later, at 送达 or by the window;
* only matters whose catalog ``modes`` include ``online`` are accepted (``MATTER_NOT_ONLINE``), in a district
  that offers them; 收件地 and 业务属地 are that district, whose window does the 网上预审 (形式审查).

The case records ``channel="online"`` and the account, so the applicant finds it under 我的办件.
"""
from __future__ import annotations

from . import online_quota
from .applicant_accounts import ApplicantAccounts, ApplicantIdentity, is_applicant
from .catalog import Matter
from .commands import ApplyOnline, Party, ReceiveApplication
from .errors import ApplicationInvalid, Forbidden, InvalidInput, MatterUnavailable
from .handlers import Services
from .identifiers import normalise_id_number
from .intake import CATALOG_FACTS, IntakeResult, IntakeRoute, catalog_facts, take_in

ONLINE = "online"


def apply_online(cmd: ApplyOnline, svc: Services) -> IntakeResult:
    """Check and start the case of an online application (see the module docstring)."""
    if not is_applicant(cmd.actor):
        raise Forbidden("网上申报须使用申请人账号登录", code="APPLICANT_ONLY")
    me = ApplicantAccounts(svc.uow, svc.clock).identity(cmd.actor.username)
    with svc.uow() as uow:
        row = uow.definitions.matter(cmd.matter_code)
    if row is None:
        raise MatterUnavailable(f"事项 {cmd.matter_code} 不在事项目录中", code="MATTER_NOT_FOUND",
                                details={"matter_code": cmd.matter_code})
    matter = Matter.from_doc(row.doc)
    if ONLINE not in matter.modes:
        raise MatterUnavailable(f"事项“{matter.name}”不支持全程网办，请到窗口申请", code="MATTER_NOT_ONLINE",
                                details={"matter_code": matter.code})
    district = _district(cmd.district, matter)
    claimed = sorted(m.key for m in cmd.materials if m.original_verified)
    if claimed:
        raise InvalidInput("网上申报不能声明已核验原件：原件在送达时或由窗口核验", code="ORIGINAL_NOT_ONLINE",
                           details={"fields": {f"materials.{k}": ["网上申报不能勾选“已核验原件”"] for k in claimed}})
    applicant, agent = parties(cmd, me)
    with svc.uow() as uow:
        # Before any upload is staged; the writing transaction asks again with the account locked.
        online_quota.check(uow, me.username, svc.online_daily_limit, svc.clock.now())
    # The catalog's facts come in as on every route; an applicant may not even repeat them.
    route = IntakeRoute(ONLINE, district, district, account=me.username, originals_later=True,
                        reserved=frozenset(catalog_facts(matter)) | frozenset(CATALOG_FACTS))
    received = ReceiveApplication(matter.code, cmd.actor, applicant, cmd.contact_phone, cmd.materials, agent,
                                  cmd.form, owning_district=district)
    return take_in(received, svc, route)


def parties(cmd: ApplyOnline, me: ApplicantIdentity) -> tuple[Party, Party | None]:
    """Return (applicant, agent): the account itself, or a legal person with the account as its agent.

    Raises:
        Forbidden: ``IDENTITY_MISMATCH`` when the body names a natural person other than the account.
        ApplicationInvalid: an applicant kind other than ``person`` or ``legal``.
    """
    own = Party("person", me.name, me.id_type, me.id_number)
    given = cmd.applicant
    if given is None:
        return own, None
    if given.kind == "person":
        same = ((given.name or "").strip() in ("", me.name)
                and (given.id_type or me.id_type) == me.id_type
                and normalise_id_number(given.id_number or "") in ("", me.id_number))
        if not same:
            raise Forbidden("网上申报的申请人只能是登录账号本人（实名核验的身份）；为法人申报请选择“法人”并提供授权",
                            code="IDENTITY_MISMATCH")
        return own, None
    if given.kind != "legal":
        raise ApplicationInvalid("申请人类型应为 person（本人）或 legal（法人，由本人代理）",
                                 details={"fields": {"applicant.kind": ["网上申报的申请人类型应为本人或法人"]}})
    agent = Party("entrusted", me.name, me.id_type, me.id_number, authorization=cmd.authorization)
    return Party("legal", given.name, "USCC", given.id_number, given.legal_representative), agent


def _district(chosen: str | None, matter: Matter) -> str:
    if chosen:
        return chosen
    if matter.districts is not None and len(matter.districts) == 1:
        return matter.districts[0]
    raise InvalidInput("请选择办理地（业务属地）：该事项在多个区县办理", code="ONLINE_DISTRICT_REQUIRED",
                       details={"fields": {"district": ["请选择办理地"]},
                                "districts": list(matter.districts or [])})
