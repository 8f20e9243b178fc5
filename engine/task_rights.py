"""The grant check on tasks a receiving district does for another district's matter (``tb:right``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from . import events as ev
from .calendar import business_date
from .grants import require_grant


def require_task_right(uow: Any, case: Any, definition: Any, task: Any, now: datetime) -> list[ev.Event]:
    """Return the ``GrantExercised`` event that authorises the task, or raise ``GrantMissing``.

    Only tasks declaring ``<tb:right name=".."/>`` in a case received for another district (收件地 ≠ 业务属地,
    with a matter) need a grant; everything else returns no event. The grant is read in the caller's
    transaction, so the check and the completion it allows commit together.
    """
    info = definition.user_tasks.get(task.element_id)
    if info is None or info.right is None or case.owning_district == case.receiving_district:
        return []
    facts = uow.messages.case_facts(case.id)
    if not facts or not facts["matter_code"]:
        return []
    grant = require_grant(uow, matter_code=facts["matter_code"], owning=case.owning_district,
                          receiving=case.receiving_district, right=info.right, on=business_date(now))
    return [ev.GrantExercised(element_id=task.element_id, task_id=task.id, grant_id=grant.id, right=info.right,
                              owning_district=grant.owning_district, receiving_district=case.receiving_district)]
