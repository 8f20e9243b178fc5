"""Who approves a deadline extension under 《行政许可法》第四十二条, and who is asked to.

* 第一款: 20 working days, extended by 10 "经本行政机关负责人批准": a department head (:data:`DEPARTMENT_HEAD`) of
  the department handling the case (:func:`~.legal_clock_rules.heads_department`);
* 第二款: 45 working days for 统一办理、联合办理、集中办理, extended by 15 "经本级人民政府负责人批准": the head of
  the deciding district's government (:data:`GOVERNMENT_HEAD`), never a department's head.

Which one applies is the clock's (:func:`extension_approver_role`: a 法定 clock of the joint procedure), and
it is recorded on each request when it is made (``extension_requests.approver_role``): a request is decided by
the role it asked for. Histories recorded before the 第二款 approver existed (the lead department's head
approved) replay as recorded (``on_record``).

Pure: :mod:`engine.legal_clock_records` and :mod:`engine.legal_clock_rules` only.
"""
from __future__ import annotations

from collections.abc import Iterable

from .legal_clock_records import Budget, ExtensionApproverRequired
from .legal_clock_rules import heads_department

DEPARTMENT_HEAD = "department_head"
"""The role of a department's 负责人: approves the extension of 第四十二条第一款 (本行政机关负责人)."""
GOVERNMENT_HEAD = "government_head"
"""The role of a district government's 负责人: approves the joint procedure's extension (第四十二条第二款)."""
APPROVER_ROLES = frozenset({DEPARTMENT_HEAD, GOVERNMENT_HEAD})
APPROVER_NAMES = {DEPARTMENT_HEAD: "承办部门的科室负责人", GOVERNMENT_HEAD: "本级人民政府负责人"}
"""Who approves, as the pages and messages name them."""
JOINT_PROCEDURE_DAYS = 45
"""The decision limit of 统一办理、联合办理、集中办理 (第四十二条第二款): a clock this long runs under it."""


def joint_procedure(budget: Budget) -> bool:
    """Whether a clock of ``budget`` runs under the joint procedure of 第四十二条第二款 (45 working days).

    The same test gives the extension its maximum (15 working days instead of 10) and its approver
    (:func:`extension_approver_role`), so that the longer extension is only approved by the head the law
    names for it. Only a budget in working days can be that procedure: 第四十二条 counts its 45 days in working
    days (第八十二条), so a period of 45 natural days or more, set by another law (DOMAIN 1.3: a per-matter unit),
    spans far fewer working days and is no joint procedure.
    """
    return budget.unit == "workday" and budget.amount >= JOINT_PROCEDURE_DAYS


def extension_approver_role(kind: str, budget: Budget) -> str:
    """Return the role whose holder approves the extension of a ``kind`` clock of ``budget``.

    Only the 法定 clock (``legal``) of a joint procedure goes to the government head: 第四十二条 governs the
    statutory limit. A 承诺 clock is the department's own promise, shorter than the law's, and its extension
    is its 承办部门's head's to approve whatever its length (a 工改 category's 50 or 80 days included).
    """
    legal = str(getattr(kind, "value", kind)) == "legal"
    return GOVERNMENT_HEAD if legal and joint_procedure(budget) else DEPARTMENT_HEAD


def government_head_required(district: str | None) -> ExtensionApproverRequired:
    """The refusal of anyone but ``district``'s government head to approve or make a joint procedure's extension."""
    return ExtensionApproverRequired(
        "该时限适用统一办理、联合办理、集中办理的 45 个工作日期限，延长须经本级人民政府负责人批准"
        "（《行政许可法》第四十二条第二款），科室负责人不能审批，也不能直接延长",
        details={"approver_role": GOVERNMENT_HEAD, "approver": APPROVER_NAMES[GOVERNMENT_HEAD],
                 "district": district})


def department_head_required(department: str | None) -> ExtensionApproverRequired:
    """The refusal of a government head to decide an extension the 承办部门's head approves (第四十二条第一款)."""
    return ExtensionApproverRequired(
        "该时限的延长由承办部门的科室负责人批准（《行政许可法》第四十二条第一款）；本级人民政府负责人只批准"
        "统一办理、联合办理、集中办理的延长",
        details={"approver_role": DEPARTMENT_HEAD, "approver": APPROVER_NAMES[DEPARTMENT_HEAD],
                 "department": department})


def decides_extension(roles: Iterable[str], district: str | None, department: str | None, *,
                      approver_role: str, request_district: str | None, case_department: str | None) -> bool:
    """Whether someone with ``roles`` in ``district``/``department`` is the approver a request asks for.

    A request made in ``request_district`` (the case's deciding district) asks for ``approver_role``: that
    district's government head, or a department head there who heads the case's 承办部门.
    """
    if not district or district != request_district or approver_role not in set(roles):
        return False
    return approver_role == GOVERNMENT_HEAD or heads_department(department, case_department)
