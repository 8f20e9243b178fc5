"""Dry run: a draft (BPMN and forms, not deployed) run against a scenario in a throw-away database.

The draft is linted first against what is deployed; a draft with lint errors does not run. Otherwise a
scratch SQLite database (a copy of a template migrated to head, in a private temporary folder) gets the
deployment's calendar facts and form versions, the draft is deployed there, and a fresh engine on a
:class:`ManualClock` starts a case and plays the scenario's steps (:mod:`engine.dryrun_steps`). Nothing
touches the real database except reads; the scratch folder is removed afterwards.
"""
from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from sqlalchemy import insert, select

from .bootstrap import Engine, bootstrap
from .clock import ManualClock
from .commands import Actor, DeployDefinitions, LintDefinitions
from .dryrun_steps import Play
from .errors import EngineError
from .migrations import upgrade_database
from .persistence.models import CalendarDay, FormVersion
from .scenario import ScenarioInvalid, parse_scenario


@dataclass
class DryRunResult:
    """The outcome of one scenario: per-step results, the path taken and the deadlines computed."""

    scenario: str
    ok: bool = False
    steps: list[dict[str, Any]] = field(default_factory=list)
    path: dict[str, int] = field(default_factory=dict)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON shape."""
        return {"ok": self.ok, "scenario": self.scenario, "steps": self.steps, "path": self.path,
                "deadlines": self.deadlines, "errors": self.errors, "warnings": self.warnings}


_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: list[Path] = []


def _template() -> Path:
    """A SQLite database migrated to head, made once per process (migrating takes a second or two)."""
    with _TEMPLATE_LOCK:
        if not _TEMPLATE:
            folder = Path(tempfile.mkdtemp(prefix="tongban-dryrun-template-"))
            atexit.register(shutil.rmtree, folder, True)
            upgrade_database(f"sqlite:///{folder / 'template.sqlite'}")
            _TEMPLATE.append(folder / "template.sqlite")
        return _TEMPLATE[0]


class DryRuns:
    """Runs scenarios for one engine in scratch copies of a migrated template database."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()
        self._workdir: Path | None = None

    def close(self) -> None:
        """Remove the scratch folder."""
        with self._lock:
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    def run_draft(self, bpmn_xml: str, forms: Mapping[str, Any], scenario: str) -> DryRunResult:
        """Run a draft as the modeler sends it: diagram XML, forms by id (form-js JSON), scenario YAML text."""
        mismatched = [{"code": "FORM_KEY_MISMATCH", "element": None,
                       "message": f"表单 {key} 的 id 为 {_id_of(form)}，应与其键 {key} 相同"}
                      for key, form in forms.items() if _id_of(form) != key]
        if mismatched:
            return DryRunResult("draft", errors=mismatched)
        form_files = [(f"{key}.form", json.dumps(form, ensure_ascii=False).encode()) for key, form in forms.items()]
        return self.run([("draft.bpmn", bpmn_xml.encode())], form_files, "scenario.yaml", scenario.encode())

    def run(self, bpmn_files: Sequence[tuple[str, bytes]], form_files: Sequence[tuple[str, bytes]],
            scenario_name: str, scenario: bytes) -> DryRunResult:
        """Lint the draft, then run ``scenario`` against it in a scratch database; never raises EngineError."""
        result = DryRunResult(scenario_name)
        try:
            parsed = parse_scenario(scenario_name, scenario)
        except ScenarioInvalid as exc:
            result.errors = [_error(f) for f in exc.details.get("findings", [])]
            return result
        result.scenario = parsed.name
        findings = self.engine.handle(LintDefinitions(tuple(bpmn_files), tuple(form_files)))
        result.errors = [_error(f.to_dict()) for f in findings if f.severity == "error"]
        result.warnings = [_error(f.to_dict()) for f in findings if f.severity != "error"]
        if result.errors:
            return result
        folder = Path(tempfile.mkdtemp(dir=self._scratch_dir()))
        scratch = None
        try:
            shutil.copy(self._template(), folder / "dryrun.sqlite")
            clock = ManualClock(parsed.start_at)
            config = replace(self.engine.config, database_url=f"sqlite:///{folder / 'dryrun.sqlite'}",
                             materials_dir=folder / "materials", workflow_cache_size=0)
            scratch = bootstrap(config, clock=clock)
            self._seed(scratch)
            try:
                report = scratch.handle(DeployDefinitions(tuple(bpmn_files), tuple(form_files)))
            except EngineError as exc:
                result.errors = [_error(f) for f in exc.details.get("findings", [])] or [
                    {"code": exc.code, "message": exc.message, "element": None}]
                return result
            keys = [line.key for line in report if line.kind == "process"]
            Play(scratch, clock, parsed, keys, self._real_actor).run(result)
        finally:
            if scratch is not None:
                scratch.close()
            shutil.rmtree(folder, ignore_errors=True)
        result.ok = not result.errors and all(step["ok"] for step in result.steps)
        return result

    def _real_actor(self, username: str) -> Actor | None:
        """A real user's identity (roles, district, department), looked up read-only."""
        return self.engine.identity.actor_for_username(username)

    def _seed(self, scratch: Engine) -> None:
        """Give the scratch database the deployment's calendar facts and every deployed form version."""
        with self.engine.database.read_sessions() as session:
            days = [r._asdict() for r in session.execute(select(CalendarDay.__table__))]
            forms = [r._asdict() for r in session.execute(select(FormVersion.__table__))]
        with scratch.database.writer.begin() as conn:
            for table, rows in ((CalendarDay, days), (FormVersion, forms)):
                if rows:
                    conn.execute(insert(table.__table__), rows)
        if scratch.calendar is not None:
            scratch.calendar.invalidate()

    def _scratch_dir(self) -> Path:
        with self._lock:
            if self._workdir is None:
                self._workdir = Path(tempfile.mkdtemp(prefix="tongban-dryrun-"))
            return self._workdir

    def _template(self) -> Path:
        return _template()


def _id_of(form: Any) -> Any:
    return form.get("id") if isinstance(form, dict) else None


def _error(finding: dict[str, Any]) -> dict[str, Any]:
    """A lint finding or scenario problem in the dry run's ``{code, message, element}`` shape."""
    out = {"code": finding["code"], "message": finding["message"], "element": finding.get("element_id")}
    if finding.get("line"):
        out["line"] = finding["line"]
    return out
