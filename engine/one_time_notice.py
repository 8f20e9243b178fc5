"""The one-time 补正 notice is given once (《行政许可法》第三十二条第一款第四项), whatever reaches its task again.

Two declarations name the notice task. A process with clocks names it on the clock (``tb:clock noticeAt``)
and the notice counts per clock period (:func:`engine.case_clocks.notice_given`). A process without clocks,
such as the receiving window's 异地代收代办 (``yidi_shoujian``), names it with ``<tb:oneTimeNotice
tasks=".."/>``, and the notice counts once per case: once one of the tasks was completed, none of them is
completed again. Both completing such a task again (a loop) and a 退回 into it are refused with 409
``NOTICE_ALREADY_GIVEN`` before anything is written; replay (``on_record``) skips the check so that what was
recorded before the rule still replays.
"""
from __future__ import annotations

from typing import Any

from .case_clocks import is_notice_task, notice_refused, refuse_second_notice
from .persistence.case_records import CaseRecord

COMPLETE_HINT = "；请将本步骤退回上一步，按已告知的内容受理或不予受理"
RETURN_HINT = "；不能退回到一次性告知补正环节，请按已告知的内容继续办理"


def refuse_repeat_notice(uow: Any, case: CaseRecord, declared: tuple[str, ...], element_id: str,
                         hint: str) -> None:
    """Refuse running ``element_id`` again when it is a one-time 补正 notice already given.

    ``declared`` are the process's ``tb:oneTimeNotice`` tasks (the loaded definition's ``one_time_notice``).

    Raises:
        NoticeAlreadyGiven: 409, naming the day the notice was given.
    """
    if is_notice_task(case.clocks, element_id):
        refuse_second_notice(case.clocks, hint)
    if element_id in declared:
        given = uow.cases.first_completion(case.id, declared)
        if given is not None:
            raise notice_refused(given, hint)
