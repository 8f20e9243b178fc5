"""Playing a scenario's steps on a scratch engine: actions, clock moves, expectations, path and deadlines.

Each step reports ``ok`` and a precise Chinese message. A failed action (a task that is not open, an actor
who is not a candidate, form data the form refuses) stops the run, and the steps after it are reported as
not run; a failed expectation does not stop it, so one run shows every mismatch.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

from sqlalchemy import select

from .bootstrap import Engine
from .calendar import MAX_YEAR, MIN_YEAR, CalendarInvalid, business_date, check_date
from .clock import CST, ManualClock
from .commands import Actor, CompleteTask, ResumeClock, ReturnTask, StartCase, SuspendClock
from .errors import EngineError
from .case_start import start_as_given
from .legal_clock_records import ClockKind
from .persistence.models import CaseEvent, TaskItem
from .scenario import Scenario, Step, Who
from .timers import TimerWorker

_OBSERVER = Actor("dryrun", ("admin",), None, None)
_CLOCK_NAMES = {kind.value: f"{kind.short}期限" for kind in ClockKind}


class StepFailed(Exception):
    """An action step could not be carried out; the message says why, in Chinese."""


class Play:
    """One scenario on one scratch engine."""

    def __init__(self, engine: Engine, clock: ManualClock, scenario: Scenario, process_keys: Sequence[str],
                 real_actor: Callable[[str], Actor | None]):
        self.engine, self.clock, self.scenario = engine, clock, scenario
        self.process_keys = list(process_keys)
        self.real_actor = real_actor
        self.case_id: int | None = None
        self.deadlines: dict[tuple[str, str, str | None], dict[str, Any]] = {}
        self.provisional = False

    def run(self, result: Any) -> None:
        """Start the case and play every step into ``result`` (steps, path, deadlines, errors)."""
        try:
            self._start()
            result.steps.append({"index": 0, "kind": "start", "line": None, "ok": True,
                                 "message": f"以 {self.scenario.starter.text} 身份开始办件，流程 {self._process()}"})
        except (StepFailed, EngineError) as exc:
            result.steps.append({"index": 0, "kind": "start", "line": None, "ok": False, "message": _text(exc)})
        stopped = not self._noted(result.steps[-1], 0) or not result.steps[0]["ok"]
        for step in self.scenario.steps:
            entry = {"index": step.index, "kind": step.kind, "line": step.line}
            if stopped:
                result.steps.append({**entry, "ok": False, "message": "未执行：前面的步骤失败，演练已停止"})
                continue
            try:
                message = getattr(self, f"_{step.kind}")(step)
                result.steps.append({**entry, "ok": True, "message": message})
            except _Mismatch as exc:
                result.steps.append({**entry, "ok": False, "message": str(exc)})
            except (StepFailed, EngineError) as exc:
                result.steps.append({**entry, "ok": False, "message": _text(exc)})
                stopped = True
            stopped = not self._noted(result.steps[-1], step.index) or stopped
        result.path = dict(self._path())
        result.deadlines = list(self.deadlines.values())
        if self.provisional:
            result.warnings.append({"code": "DRYRUN_DEADLINE_PROVISIONAL", "element": None, "message":
                                    "部署环境未载入相关年度的法定节假日安排，期限按周末估算（临时期限）；"
                                    "载入日历后结果可能不同（tongban calendar）"})

    def _noted(self, entry: dict[str, Any], index: int) -> bool:
        """Note the deadlines after step ``index``; when the case cannot be read, fail that step and say no.

        Reading the case computes its clocks; a refusal there (e.g. a date the calendar cannot compute)
        belongs to the step that caused it, not to the whole run.
        """
        try:
            self._note_deadlines(index)
        except EngineError as exc:
            failed = f"步骤执行后无法读取办件状态：{_text(exc)}"
            entry.update(ok=False, message=f"{entry['message']}；{failed}" if entry["ok"] else failed)
            return False
        return True

    def _process(self) -> str:
        if self.scenario.process is not None:
            if self.scenario.process not in self.process_keys:
                raise StepFailed(f"草稿中没有可执行流程 {self.scenario.process}（有：{'、'.join(self.process_keys)}）")
            return self.scenario.process
        if len(self.process_keys) != 1:
            raise StepFailed(f"草稿有多个可执行流程（{'、'.join(self.process_keys)}），请在场景中用 process 指定")
        return self.process_keys[0]

    def _start(self) -> None:
        s = self.scenario
        # The scenario's start stands for intake, a rating or a message: no person's start rights apply.
        ref = start_as_given(StartCase(self._process(), self._actor(s.starter), dict(s.data),
                                       owning_district=s.owning, receiving_district=s.receiving,
                                       title=f"演练：{s.name}"), self.engine.services)
        self.case_id = ref.case_id

    def _actor(self, who: Who | None) -> Actor:
        if who is None:
            raise StepFailed("缺少办理人")
        if who.username is not None:
            actor = self.real_actor(who.username)
            if actor is None:
                raise StepFailed(f"用户 {who.username} 不存在或已停用")
            return actor
        # The stand-in's name is the text as written, so "...#2" is a different person from the plain one.
        return Actor(who.text, (who.role or "",), who.district, who.department)

    def _open(self, element: str) -> list[dict[str, Any]]:
        case = self.engine.queries.case(_OBSERVER, self.case_id)
        return [t for t in case["tasks"] if t["state"] == "open" and t["element_id"] == element]

    def _task_for(self, element: str, actor: Actor) -> dict[str, Any]:
        tasks = self._open(element)
        if not tasks:
            now_open = "、".join(self._open_elements()) or "无"
            raise StepFailed(f"环节 {element} 当前没有待办（当前待办：{now_open}）")
        mine = [t for t in tasks if t["assignee"] in (None, actor.username)
                and actor.groups.intersection(t["candidate_groups"])]
        if not mine:
            groups = "、".join(sorted({g for t in tasks for g in t["candidate_groups"]}))
            raise StepFailed(f"{actor.username} 不是环节 {element} 的办理人（候选组：{groups}）")
        return mine[0]

    def _open_elements(self) -> list[str]:
        case = self.engine.queries.case(_OBSERVER, self.case_id)
        return sorted(t["element_id"] for t in case["tasks"] if t["state"] == "open")

    def _complete(self, step: Step) -> str:
        actor = self._actor(step.args["by"])
        task = self._task_for(step.args["element"], actor)
        ref = self.engine.handle(CompleteTask(task["id"], actor, dict(step.args["data"])))
        after = "、".join(self._open_elements()) or "无"
        state = "，办件已办结" if ref.status == "completed" else ""
        return f"{actor.username} 办理了 {step.args['element']}（{task['name']}）{state}；当前待办：{after}"

    def _return(self, step: Step) -> str:
        actor = self._actor(step.args["by"])
        task = self._task_for(step.args["element"], actor)
        self.engine.handle(ReturnTask(task["id"], actor, step.args["reason"]))
        return f"{actor.username} 退回了 {step.args['element']}；当前待办：{'、'.join(self._open_elements()) or '无'}"

    def _suspend(self, step: Step) -> str:
        actor = self._actor(step.args["by"])
        self.engine.handle(SuspendClock(self.case_id, actor, step.args["kind"], step.args["reason"],
                                        tuple(step.args["clocks"]), step.args["procedure"],
                                        step.args["expected_days"]))
        procedure = step.args["procedure"] and f"，{step.args['procedure']} {step.args['expected_days']} 个工作日"
        return f"暂停计时（{step.args['kind']}{procedure}）：{'、'.join(step.args['clocks'])}"

    def _resume(self, step: Step) -> str:
        actor = self._actor(step.args["by"])
        self.engine.handle(ResumeClock(self.case_id, actor, tuple(step.args["clocks"])))
        return f"恢复计时：{'、'.join(step.args['clocks'])}"

    def _advance(self, step: Step) -> str:
        amount, unit = step.args["amount"], step.args["unit"]
        now = self.clock.now()
        if unit in ("workdays", "days"):
            calendar = self.engine.calendar.get()
            count = calendar.workdays_after if unit == "workdays" else calendar.days_after
            day = count(business_date(now), amount).date
            target = datetime.combine(day, now.astimezone(CST).timetz())
        else:
            try:
                target = now + timedelta(**{unit: amount})
            except OverflowError:
                raise StepFailed(f"时钟前移 {amount} {unit} 超出可计算范围（{MIN_YEAR}–{MAX_YEAR} 年）") from None
        return self._move(target)

    def _to(self, step: Step) -> str:
        if step.args["at"] < self.clock.now():
            raise StepFailed(f"时间不能倒退：当前 {_iso(self.clock.now())}，目标 {_iso(step.args['at'])}")
        return self._move(step.args["at"])

    def _move(self, target: datetime) -> str:
        try:
            check_date(business_date(target))
        except (CalendarInvalid, OverflowError):
            raise StepFailed(f"目标时间 {target.isoformat()} 超出可计算范围（{MIN_YEAR}–{MAX_YEAR} 年），"
                             "演练时钟不能移到该时间") from None
        self.clock.set(target)
        fired = 0
        worker = TimerWorker(self.engine, worker_id="dryrun")
        for _ in range(20):
            swept = worker.sweep()
            if swept.failed:
                raise StepFailed(f"到期定时器触发失败（{swept.failed} 个办件）")
            if not swept.cases:
                break
            fired += swept.cases
        after = "、".join(self._open_elements()) or "无"
        timers = f"，触发到期定时器 {fired} 次" if fired else ""
        return f"时钟移到 {_iso(target)}{timers}；当前待办：{after}"

    def _expect(self, step: Step) -> str:
        want = step.args
        case = self.engine.queries.case(_OBSERVER, self.case_id)
        problems = []
        if "tasks" in want:
            actual = sorted(t["element_id"] for t in case["tasks"] if t["state"] == "open")
            if actual != sorted(want["tasks"]):
                problems.append(f"期望待办 [{', '.join(sorted(want['tasks']))}]，实际 [{', '.join(actual)}]")
        if "ended" in want and (case["status"] == "completed") != want["ended"]:
            problems.append("期望办件已办结，实际仍在办理" if want["ended"] else "期望办件仍在办理，实际已办结")
        path = self._path()
        missing = [e for e in want.get("path_contains", []) if not path.get(e)]
        if missing:
            problems.append(f"期望经过 {', '.join(missing)}，实际未经过（已经过：{', '.join(path) or '无'}）")
        passed = [e for e in want.get("path_excludes", []) if path.get(e)]
        if passed:
            problems.append(f"期望不经过 {', '.join(passed)}，实际经过了")
        for key, expected in want.get("due", {}).items():
            actual = self._due(case, key, expected)
            if actual != (expected.isoformat() if expected is not None else None):
                what = _CLOCK_NAMES.get(key, f"环节 {key} 的办理期限")
                problems.append(f"期望{what} {_show(expected)}，实际 {actual or '无'}")
        if problems:
            raise _Mismatch("；".join(problems))
        return "符合期望"

    def _due(self, case: dict[str, Any], key: str, expected: Any) -> str | None:
        exact = isinstance(expected, datetime)
        if key in _CLOCK_NAMES:
            clock = next((c for c in case["clocks"] if c["kind"] == key), None)
            instant = case.get(f"{key}_due_at")
            if exact:
                return None if instant is None else instant.astimezone(CST).isoformat()
            return None if clock is None else clock["due_date"]
        # The step's latest instance, an open one first: a budget on a case clock has no instant while the
        # clock stands still, and an earlier, closed instance's instant is not the step's now.
        rows = [t for t in case["tasks"] if t["element_id"] == key]
        latest = ([t for t in rows if t["state"] == "open"] or rows or [None])[-1]
        if latest is None or latest["due_at"] is None:
            return None
        instant = latest["due_at"].astimezone(CST)
        return instant.isoformat() if exact else (instant - timedelta(microseconds=1)).date().isoformat()

    def _path(self) -> Counter[str]:
        """Elements passed, with how often: engine steps (FlowAdvanced) and completed user tasks, in order."""
        path: Counter[str] = Counter()
        if self.case_id is None:
            return path
        with self.engine.database.read_sessions() as session:
            for event_type, element, payload in session.execute(
                    select(CaseEvent.event_type, CaseEvent.element_id, CaseEvent.payload)
                    .where(CaseEvent.case_id == self.case_id).order_by(CaseEvent.seq)):
                if event_type == "FlowAdvanced":
                    path.update(payload.get("elements", ()))
                elif event_type == "TaskCompleted" and element:
                    path[element] += 1
        return path

    def _note_deadlines(self, index: int) -> None:
        """Remember every deadline the case shows now (case clocks and task budgets), first seen at ``index``."""
        if self.case_id is None:
            return
        case = self.engine.queries.case(_OBSERVER, self.case_id)
        self.provisional = self.provisional or any(c["status"] == "provisional" for c in case["clocks"])
        found = [(kind, case.get(f"{kind}_due_at"), self._clock_element(kind)) for kind in _CLOCK_NAMES]
        with self.engine.database.read_sessions() as session:
            found += [("task", due, element) for element, due in session.execute(
                select(TaskItem.element_id, TaskItem.due_at).where(TaskItem.case_id == self.case_id,
                                                                   TaskItem.due_at.is_not(None))
                .order_by(TaskItem.id))]
        for kind, due, element in found:
            if due is None:
                continue
            key = (kind, due.astimezone(CST).isoformat(), element)
            self.deadlines.setdefault(key, {"clock": kind, "due": key[1], "element": element, "step": index})

    def _clock_element(self, kind: str) -> str | None:
        with self.engine.database.read_sessions() as session:
            rows = session.execute(select(CaseEvent.element_id, CaseEvent.payload).where(
                CaseEvent.case_id == self.case_id, CaseEvent.event_type == "ClocksStarted")).all()
        started = [element for element, payload in rows if kind in (payload.get("clocks") or {})]
        return (started[-1] if started else None) or self._process()


class _Mismatch(Exception):
    """An expectation did not hold (the run goes on)."""


def _text(exc: Exception) -> str:
    if isinstance(exc, EngineError):
        fields = exc.details.get("fields") or {}
        extra = "；".join(f"{k}：{'、'.join(v)}" for k, v in fields.items())
        return f"[{exc.code}] {exc.message}" + (f"（{extra}）" if extra else "")
    return str(exc)


def _iso(instant: datetime) -> str:
    return instant.astimezone(CST).isoformat()


def _show(value: Any) -> str:
    return "无" if value is None else value.isoformat()
