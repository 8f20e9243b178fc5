"""Chinese labels the pages show for codes: districts, lights, task states, events and clocks."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine import CST

DISTRICTS = {
    "500000": "重庆市", "500101": "万州区", "500102": "涪陵区", "500103": "渝中区", "500104": "大渡口区",
    "500105": "江北区", "500106": "沙坪坝区", "500107": "九龙坡区", "500108": "南岸区", "500109": "北碚区",
    "500110": "綦江区", "500111": "大足区", "500112": "渝北区", "500113": "巴南区", "500114": "黔江区",
    "500115": "长寿区", "500116": "江津区", "500117": "合川区", "500118": "永川区", "500119": "南川区",
    "500120": "璧山区", "500151": "铜梁区", "500152": "潼南区", "500153": "荣昌区", "500154": "开州区",
    "500155": "梁平区", "500156": "武隆区", "500229": "城口县", "500230": "丰都县", "500231": "垫江县",
    "500233": "忠县", "500235": "云阳县", "500236": "奉节县", "500237": "巫山县", "500238": "巫溪县",
    "500240": "石柱县", "500241": "秀山县", "500242": "酉阳县", "500243": "彭水县",
}
"""GB/T 2260 codes of Chongqing and its districts and counties."""

LIGHTS = {"green": "正常", "yellow": "临期", "red": "超期", "not_started": "未起算"}
TASK_STATES = {"open": "办理中", "completed": "已办结", "cancelled": "已撤销"}
CASE_STATUSES = {"running": "办理中", "completed": "已办结", "failed": "异常"}
CLOCKS = {"legal": "法定时限", "committed": "承诺时限"}
CLOCK_STATUSES = {"not_started": "未起算", "running": "计时中", "paused": "已暂停", "due": "已到期",
                  "overdue": "已超期", "provisional": "暂定", "confirmed": "已确定"}
EVENTS = {
    "CaseStarted": "收件", "MatterReceived": "按事项收件", "ApplicationReceived": "登记申请", "TaskCreated": "生成任务", "TaskClaimed": "认领任务", "TaskUnclaimed": "退回认领",
    "TaskCompleted": "办理完成", "TaskCancelled": "任务撤销", "FlowAdvanced": "流程流转",
    "TimersFired": "定时器触发", "CaseCompleted": "办结", "ClocksStarted": "开始计时", "ClockPaused": "暂停计时",
    "ClockResumed": "恢复计时", "DeadlineExtended": "延长时限", "DeadlinesRecomputed": "重算期限",
}


def district_name(code: str | None) -> str:
    """Return a district's name with its code, or a dash when there is none."""
    if not code:
        return "—"
    name = DISTRICTS.get(code)
    return f"{name}" if name else code


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


def materials(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Read the materials list from the case's initial data: names, or objects with a name."""
    raw = data.get("materials")
    if not isinstance(raw, list):
        return []
    items = []
    for entry in raw:
        if isinstance(entry, dict):
            items.append({"name": str(entry.get("name") or entry.get("title") or "—"),
                          "copies": entry.get("copies"), "form": entry.get("form") or entry.get("kind"),
                          "received": entry.get("received")})
        else:
            items.append({"name": str(entry), "copies": None, "form": None, "received": None})
    return items


def register_filters(app: Any) -> None:
    """Make the labels available to templates as filters."""
    app.jinja_env.filters.update(
        district=district_name, when=when,
        light_label=lambda v: LIGHTS.get(v or "", "无时限"),
        task_state=lambda v: TASK_STATES.get(v, v), case_status=lambda v: CASE_STATUSES.get(v, v),
        clock_kind=lambda v: CLOCKS.get(v, v), clock_status=lambda v: CLOCK_STATUSES.get(v, v),
        event_label=lambda v: EVENTS.get(v, v))
