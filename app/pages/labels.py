"""Chinese labels the pages show for codes: districts, lights, task states, events and clocks."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

from flask import g, has_app_context

from engine import CST, RIGHTS, ClockKind

from ..runtime import get_engine


LIGHTS = {"green": "正常", "yellow": "临期", "red": "超期", "not_started": "未起算", "paused": "已暂停",
          "closed": "已停止计时"}
"""The label of each light a clock or task has (``paused``: standing still; ``closed``: 办结 or 终止).
「无时限」 is left for what has no clock at all (:func:`register_filters`)."""
TASK_STATES = {"open": "办理中", "completed": "已办结", "cancelled": "已撤销"}
CASE_STATUSES = {"running": "办理中", "completed": "已办结", "failed": "异常"}
CLOCKS = {kind.value: kind.zh for kind in ClockKind}
"""Each clock's name (``ClockKind.zh``, 法定时限/承诺时限): the ``clock_kind`` filter and the extension flash."""
CLOCKS_SHORT = {kind.value: kind.short for kind in ClockKind}
"""Each clock's qualifier (``ClockKind.short``, 法定/承诺): a 通报's 时限 column, on its page and in its CSV."""
CLOCK_STATUSES = {"not_started": "未起算", "running": "计时中", "paused": "已暂停", "due": "已到期",
                  "overdue": "已超期", "provisional": "暂定", "confirmed": "已确定", "stopped": "已停止"}
EVENTS = {
    "CaseStarted": "收件", "MatterReceived": "按事项收件", "ApplicationReceived": "登记申请",
    "SupplementReceived": "网上补正",
    "TaskCreated": "生成任务", "TaskClaimed": "认领任务", "TaskUnclaimed": "退回认领",
    "TaskCompleted": "办理完成", "TaskCancelled": "任务撤销", "FlowAdvanced": "流程流转",
    "TimersFired": "定时器触发", "CaseCompleted": "办结", "ClocksStarted": "开始计时", "ClockPaused": "暂停计时",
    "ClockResumed": "恢复计时", "DeadlineExtended": "延长时限", "DeadlinesRecomputed": "重算期限",
    "TaskDelegated": "转办", "TaskReturned": "退回", "TimersRearmed": "重排定时器", "SupervisionRaised": "督办",
    "SupervisionClosed": "督办办结",
    "ExtensionRequested": "申请延长时限", "ExtensionApproved": "批准延长时限", "ExtensionRejected": "驳回延长申请",
    "ExtensionWithdrawn": "撤回延长申请",
    "GrantExercised": "依授权办理", "GrantRefused": "无授权被拒", "MessageSent": "发送消息",
    "MessageReceived": "收到消息", "MessageExpired": "消息过期未送达", "MessageResolved": "消息人工处理",
    "MessageUndeliverable": "消息无法投递",
    "CaseLinked": "关联办件",
    "CaseRated": "好差评", "RectificationOpened": "差评整改立案", "RectificationClosed": "差评整改办结",
    "RatingRemoved": "评价撤销（申诉成立）", "TimerRetried": "定时器人工重试",
}
ROLES_IN_LINK = {"receiving": "收件地办件", "owning": "业务属地办件", "sender": "发起办件",
                 "started": "由消息启动的办件"}


def district_name(code: str | None) -> str:
    """Return a district's name from the organisation model (read once per request), or a dash for none."""
    if not code:
        return "—"
    if not has_app_context():
        return code
    names = g.get("district_names")
    if names is None:
        names = g.district_names = get_engine().org.district_names()
    return names.get(code, code)


def when(value: Any, with_time: bool = True) -> str:
    """Format an instant or ISO text in Beijing time: ``2026-11-23 09:00``, or a dash.

    A deadline at midnight is the end of the previous day, so it reads ``2026-11-30 24:00`` as in 期限 texts.
    """
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is not None:
        value = value.astimezone(CST)
    if with_time and (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return f"{(value - timedelta(days=1)):%Y-%m-%d} 24:00"
    return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def materials(data: dict[str, Any], files: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Read the materials list from the case's initial data: names, or objects with a name.

    ``files`` are the case's received materials (``engine.materials.list``): each is attached to the entry of
    the same name (``file``), so the page offers 「下载」 or shows the 电子证照 reference; one no entry names
    (e.g. supplied later by 网上补正 under a name the list lacks) is listed after them.
    """
    raw = data.get("materials")
    items = []
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict):
            items.append({"name": str(entry.get("name") or entry.get("title") or "—"),
                          "copies": entry.get("copies"), "form": entry.get("form") or entry.get("kind"),
                          "received": entry.get("received")})
        else:
            items.append({"name": str(entry), "copies": None, "form": None, "received": None})
    unmatched = {f["name"]: f for f in files}
    for item in items:
        item["file"] = unmatched.pop(item["name"], None)
        if item["file"] is not None:
            item["received"] = True  # e.g. a 容缺 material handed in later by 补正
    items += [{"name": f["name"], "copies": None, "form": None, "received": True, "file": f}
              for f in unmatched.values()]
    return items


def file_size(size: int | None) -> str:
    """A file size as people read it (KB below 1 MB, else MB with one decimal)."""
    if not size:
        return "—"
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"


MEDIA_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG", "application/ofd": "OFD"}


def register_filters(app: Any) -> None:
    """Make the labels available to templates as filters."""
    app.jinja_env.filters.update(
        district=district_name, when=when,
        light_label=lambda v: LIGHTS.get(v or "", "无时限"),
        task_state=lambda v: TASK_STATES.get(v, v), case_status=lambda v: CASE_STATUSES.get(v, v),
        clock_kind=lambda v: CLOCKS.get(v, v), clock_status=lambda v: CLOCK_STATUSES.get(v, v),
        event_label=lambda v: EVENTS.get(v, v), right_label=lambda v: RIGHTS.get(v, v),
        link_role=lambda v: ROLES_IN_LINK.get(v, v), file_size=file_size,
        media_type=lambda v: MEDIA_TYPES.get(v or "", "文件"))
