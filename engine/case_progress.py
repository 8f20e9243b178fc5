"""Where a case stands, in the plain Chinese an applicant reads (办件查询): stage, next step, deadlines, notice.

Pure functions of what the engine already stores: the case status, its clock summary, its open tasks and its
audit events. The stage is read from the clocks and events, never from task names, so it holds for every
diagram:

* 已收件 — nobody has completed a task yet, or the clocks still wait for 受理;
* 待补正 — a one-time 补正 notice (or a 容缺/补正 pause) is in force: the applicant must act;
* 已受理 — the last thing done was the task that started the clocks (受理), or the clocks started because the
  application is accepted by law (第三十二条, :func:`deemed_start`: 已受理（逾期未告知，依法视为受理）) and nothing
  was done since;
* 审查中 — work went on after 受理;
* 特别程序 — the clocks are paused for a 特别程序 (听证、检验、专家评审 …);
* 待送达 — an 异地代收代办 application the owning district has decided, before the receiving window's 送达;
* 已办结 — the process ended; the result is the name of the end event reached.

While a 容缺 wait is open (a task carrying a boundary timer that terminates the case, such as 接收容缺材料 with
容缺补齐期限届满), the applicant is told the last day to bring the material (:func:`tolerance_deadline`).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Mapping, Sequence

from .clock import CST
from .legal_clock_records import ClockKind, PauseKind
from .legal_clock_rules import NOTICE_WINDOW_DAYS
from .masking import mask_mobile_numbers, mask_text

LABELS = {"received": "已收件", "correction": "待补正", "accepted": "已受理", "reviewing": "审查中",
          "special": "特别程序", "delivering": "待送达", "completed": "已办结", "halted": "办理中断"}
HINTS = {
    "received": "收件窗口正在审核申请材料，决定是否受理。",
    "correction": "申请材料需要补正：请按下面一次性告知的全部内容补齐，交到收件窗口。补正期间不计入办理时限。",
    "accepted": "申请已受理，即将进入审查。",
    "reviewing": "申请已受理，正在审查办理。",
    "special": "正在进行特别程序（如听证、检验、检测、专家评审），所需时间不计入办理时限。",
    "delivering": "业务属地已作出办理结果，由收件窗口向您送达。",
    "completed": "办件已办结。",
    "halted": "办理中断，请联系收件窗口。",
}
DEEMED_LABEL = "已受理（逾期未告知，依法视为受理）"
DEEMED_HINT = (f"收件窗口未在收件后 {NOTICE_WINDOW_DAYS} 个工作日内一次性告知补正，"
               "依《行政许可法》第三十二条，申请自收件之日起视为受理，办理期限自收件之日起算。")
"""The 已受理 stage of an application accepted by law (:func:`deemed_start`) before anyone completed 受理."""
CLOCK_LABELS = {kind.value: f"{kind.short}办结期限" for kind in ClockKind}
"""The deadline of each clock as the applicant reads it: 法定办结期限, 承诺办结期限."""
Event = Mapping[str, Any]


def current_pause(events: Sequence[Event]) -> Event | None:
    """Return the latest ``ClockPaused`` event still in force, or None.

    A pause ends when the clocks resume. A 补正 or 容缺 pause also ends when clocks start (受理 after 补正,
    第三十二条第一款第五项: 受理 resumes the clocks it paused, ``ClocksStarted.resumed``); a 特别程序 goes on
    across a 工改 stage's 受理 until its clocks resume. A one-time notice given by completing a task
    (``noticeAt``) also ends when another task is completed: the window received the materials.
    """
    pauses = [e for e in events if e["event_type"] == "ClockPaused"]
    if not pauses:
        return None
    last = pauses[-1]
    special = last["payload"].get("reason_kind") == "special_procedure"
    for later in events:
        if later["seq"] <= last["seq"]:
            continue
        if later["event_type"] == "ClockResumed" or (later["event_type"] == "ClocksStarted" and not special):
            return None
        if last.get("task_id") is not None and later["event_type"] == "TaskCompleted" \
                and later.get("task_id") != last["task_id"]:
            return None
    return last


def notice_of(pause: Event | None, events: Sequence[Event]) -> dict[str, Any] | None:
    """Return the one-time notice (一次性告知) behind a 补正 or 容缺 pause: every item and its requirement.

    The items come from the notice task's data (a list of ``{item_name, item_requirement}`` rows, as the
    shipped 一次性告知补正 form collects them): the task whose completion paused the clocks, else (the window
    paused them first, through the API) the last task completed during the pause whose data holds such a
    list. A pause without either tells its reason.
    """
    if pause is None or pause["payload"].get("reason_kind") not in ("correction", "tolerance"):
        return None
    data: Mapping[str, Any] = {}
    if pause.get("task_id") is not None:
        done = [e for e in events if e["event_type"] == "TaskCompleted" and e.get("task_id") == pause["task_id"]]
        data = (done[-1]["payload"].get("data") or {}) if done else {}
    items = _notice_items(data)
    if not items:
        during = [e["payload"].get("data") or {} for e in events
                  if e["event_type"] == "TaskCompleted" and e["seq"] > pause["seq"]]
        data = next((d for d in reversed(during) if _notice_items(d)), data)
        items = _notice_items(data)
    if not items:
        items = [{"name": _told(str(pause["payload"].get("reason") or "请联系收件窗口了解需补正的内容")),
                  "requirement": ""}]
    kind = PauseKind(pause["payload"]["reason_kind"])
    return {"kind": kind.value, "kind_label": kind.notice_zh,
            "noticed_at": pause.get("occurred_at"), "notice_no": data.get("correction_notice_no"), "items": items}


def _notice_items(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The notice's rows in a task's data: the first list of ``{item_name, item_requirement}`` mappings."""
    for value in data.values():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) and "item_name" in v for v in value):
            return [{"name": _told(str(v["item_name"])), "requirement": _told(str(v.get("item_requirement") or ""))}
                    for v in value]
    return []


def _told(text: str | None) -> str | None:
    """Staff's free text as the applicant's view tells it: ID and mobile numbers written into it masked.

    The lookup needs only the 办件编号 and query code, so it shows no personal number, whoever typed it where.
    """
    return None if text is None else mask_mobile_numbers(mask_text(text))


def stage_of(status: str, clocks: Sequence[Mapping[str, Any]], events: Sequence[Event]) -> str:
    """Return the stage code (a key of :data:`LABELS`)."""
    if status == "completed":
        return "completed"
    if status != "running":
        return "halted"
    pause = current_pause(events)
    if pause is not None:
        return "special" if pause["payload"].get("reason_kind") == "special_procedure" else "correction"
    completed = [e for e in events if e["event_type"] == "TaskCompleted"]
    if any(c.get("status") == "not_started" for c in clocks):
        return "received"
    if deemed_start(events) is not None:
        return "accepted"
    if not completed:
        return "received"
    accepting = {e["element_id"] for e in events if e["event_type"] == "ClocksStarted" and e.get("element_id")}
    return "accepted" if completed[-1].get("element_id") in accepting else "reviewing"


def deemed_start(events: Sequence[Event]) -> Event | None:
    """Return the ``ClocksStarted`` of an application accepted by law while nothing was done since, or None.

    That is the worker's start when 第三十二条's window passed with neither 受理 nor a one-time 补正 notice
    (:mod:`engine.acceptance_deemed`: no element, every clock ``deemed``): the application is accepted on its
    receipt date. Once a task is completed after it (the window's 受理, which starts nothing then), work went on.
    """
    for event in reversed(events):
        if event["event_type"] == "TaskCompleted":
            return None
        if event["event_type"] == "ClocksStarted":
            entries = (event["payload"].get("clocks") or {}).values()
            deemed = event.get("element_id") is None and bool(entries) and all(e.get("deemed") for e in entries)
            return event if deemed else None
    return None


def result_of(events: Sequence[Event], end_names: Mapping[str, str]) -> str | None:
    """Return the name of the last end event the case passed (its result), or None."""
    for event in reversed(events):
        if event["event_type"] == "FlowAdvanced":
            ends = [e for e in event["payload"].get("elements", ()) if e in end_names]
            if ends:
                return end_names[ends[-1]]
    return None


def deadlines(clocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the 承诺 and 法定 clocks as an applicant reads them, 承诺 first.

    ``clocks`` is the clock summary (:func:`engine.case_clocks.summary`). Each row carries the days ``left`` with
    their ``unit``/``unit_zh``, the ``light`` (``not_started`` before 受理) and ``overdue`` (the light is red).
    """
    rows = []
    for clock in sorted(clocks, key=lambda c: c["kind"] != "committed"):
        started = clock.get("status") != "not_started"
        light = clock.get("light") if started else "not_started"
        rows.append({"kind": clock["kind"], "label": CLOCK_LABELS.get(clock["kind"], clock["kind"]),
                     "budget": clock.get("budget"), "started": started, "paused": bool(clock.get("paused")),
                     "due_date": clock.get("due_date") if started else None,
                     "left": clock.get("left") if started else None,
                     # ``left`` counts in the clock's own unit (日 or 个工作日, never the budget's words).
                     "unit": clock.get("unit"), "unit_zh": clock.get("unit_zh"), "light": light,
                     # Overdue is the light's word, not ``left < 0``: the weekend after a Friday due date has 0
                     # working days left and is red; so is a clock paused after its deadline passed (第七十四条).
                     "overdue": light == "red",
                     # A due date reaching a year whose holidays are not published yet may still move.
                     "provisional": started and clock.get("status") == "provisional",
                     "rule": None if started else f"受理之日起 {clock.get('budget')}",
                     # 第四十二条: the applicant is told the extension and its reason.
                     "extended_days": clock.get("extended_days") or 0,
                     "extension_reason": _told(clock.get("extension_reason"))})
    return rows


def progress(status: str, clocks: Sequence[Mapping[str, Any]], open_tasks: Sequence[Mapping[str, Any]],
             events: Sequence[Event], end_names: Mapping[str, str]) -> dict[str, Any]:
    """Return stage, label, hint, next step, deadlines, notice and result for the applicant."""
    stage = stage_of(status, clocks, events)
    names = list(dict.fromkeys(str(t["name"]) for t in open_tasks))
    notice = notice_of(current_pause(events), events) if stage == "correction" else None
    if stage == "correction":
        next_step = "补齐材料后交到收件窗口"
    elif stage == "completed":
        next_step = None
    else:
        next_step = "、".join(names) or "等待办理"
    result = result_of(events, end_names) if stage == "completed" else None
    label, hint = LABELS[stage], HINTS[stage]
    if stage == "accepted" and deemed_start(events) is not None:
        label, hint = DEEMED_LABEL, DEEMED_HINT
    return {"stage": stage, "stage_label": label, "hint": hint, "next_step": next_step,
            "deadlines": deadlines(clocks) if status == "running" else [], "notice": notice, "result": result}


HANDED_OVER_HINT = "申请材料已移交业务属地，正在审核是否受理。"
"""The 已收件 hint of an 异地代收代办 application once handed over: the owning district decides on 受理."""


def delivering(open_tasks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stage, next step and deadlines of an 异地代收代办 application decided by the owning district, not yet 送达."""
    names = list(dict.fromkeys(str(t["name"]) for t in open_tasks))
    return {"stage": "delivering", "stage_label": LABELS["delivering"], "hint": HINTS["delivering"],
            "next_step": "、".join(names) or "等待办理结果回传", "deadlines": [], "notice": None, "result": None}


def tolerance_deadline(timers: Sequence[Mapping[str, Any]],
                       open_tasks: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Return ``{due_date, text}`` while an open task waits under a timer that terminates the case, else None.

    ``timers`` are the case's waiting timers (:meth:`engine.case_timers.CaseTimers.waiting`). ``due_date``
    (``YYYY-MM-DD``) is the last day in Beijing time: a deadline at midnight ends the day before
    (``2026-03-06 00:00`` → 03-05). Only the date is told, nothing personal.
    """
    waiting = {t["element_id"] for t in open_tasks}
    due = [t["due_at"] for t in timers if t.get("ends_case") and t.get("attached_to") in waiting]
    if not due:
        return None
    last_day = last_day_before(min(due)).isoformat()
    return {"due_date": last_day, "text": f"请于 {last_day}（含当日）前补齐容缺材料，逾期将终止办理"}


def last_day_before(instant: Any) -> date:
    """The last Beijing day on which something due at ``instant`` is still on time."""
    return (instant.astimezone(CST) - timedelta(microseconds=1)).date()
