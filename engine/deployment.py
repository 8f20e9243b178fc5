"""Deploying definitions and forms, and the in-process catalog of parsed, ready-to-run definitions.

A deploy is idempotent: unchanged content keeps its version, changed content becomes the next version, and
running cases stay pinned to the version they started on. A definition pins the exact form versions its user
tasks use (``form_refs``), so a form edit is a new definition version too.

This module reads, parses and checks what a deploy brings, and caches deployed definitions. Writing the
checked versions (their numbering, the :class:`~engine.deploy_versions.Deployed` report line) and the
per-key advisory locks (:func:`~engine.deploy_versions.lock_keys`) moved to :mod:`engine.deploy_versions`.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Iterator, Mapping

from sqlalchemy.exc import IntegrityError

from .audit import canonical_json
from .bundle import BundleFile, is_bundle_file, parse_bundle
from .catalog import CatalogCheck, KnownOrg, is_catalog_file, parse_catalog
from .definitions import ClockSpec, Finding, MessageSpec, UserTaskInfo
from .deploy_versions import Deployed, deploy_form, deploy_matter, deploy_process, lock_keys
from .errors import Conflict, DefinitionRejected
from .expressions import Evaluator
from .form_definition import FormDefinition
from .forms import parse_form
from .lint import DeployedFacts, LintLimits, file_name_findings, lint_files, missing_forms
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .project_targets import TargetTable
from .spiff.parser import ParsedProcess, ParsedUnit, parse_unit


@dataclass(frozen=True)
class LoadedDefinition:
    """A deployed definition version with its parsed specs and pinned forms, shared across requests."""

    id: int
    process_key: str
    version: int
    name: str
    content_hash: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo]
    forms: dict[str, FormDefinition]
    clocks: tuple[ClockSpec, ...] = ()
    bundle: Mapping[str, Any] | None = None
    """The 一件事 mapping deployed with the process (:mod:`engine.bundle`), None for a single matter."""
    bundle_form: FormDefinition | None = None
    """The pinned 一表申报 form the bundle's cases are started with."""
    messages: Mapping[str, MessageSpec] = field(default_factory=dict)
    """How each message throw builds the message it sends (``tb:message``), by element id."""
    one_time_notice: tuple[str, ...] = ()
    """The tasks that give the one-time 补正 notice in a process without clocks (``tb:oneTimeNotice``)."""


class DefinitionCatalog:
    """Parses, deploys and caches definitions; one per engine, safe to share between threads.

    ``targets`` is the 工改 project category table the engine loaded from ``processes/*/targets.yaml``: a
    matter whose committed limit is set per category needs it (:mod:`engine.category_limit`).
    """

    def __init__(self, evaluator: Evaluator, *, max_bpmn_bytes: int, max_form_bytes: int,
                 targets: TargetTable | None = None):
        self.evaluator = evaluator
        self.max_bpmn_bytes = max_bpmn_bytes
        self.max_form_bytes = max_form_bytes
        self.targets = targets if targets is not None else TargetTable()
        self._lock = threading.Lock()
        self._loaded: dict[int, LoadedDefinition] = {}
        self._forms: dict[tuple[str, str], FormDefinition] = {}

    def get(self, uow: SqlAlchemyUnitOfWork, definition_id: int) -> LoadedDefinition:
        """Return the parsed definition, parsing it from the database on first use in this process."""
        loaded = self._loaded.get(definition_id)
        if loaded is not None:
            return loaded
        row = uow.definitions.by_id(definition_id, with_source=True)
        files = [(row.source_name or "main.bpmn", row.bpmn_xml.encode())]
        files += [(name, xml.encode()) for name, xml in sorted(row.resources.items())]
        parsed = parse_unit(files, self.evaluator, max_bytes=self.max_bpmn_bytes, validate_xsd=False, stored=True)
        process = parsed.processes[row.process_key]
        forms = {}
        for key, content_hash in row.form_refs.items():
            form_row = uow.definitions.form(key, content_hash)
            if form_row is None:
                raise DefinitionRejected(f"流程 {row.process_key} 引用的表单 {key} 版本缺失")
            forms[key] = parse_form(canonical_json(form_row.source), expected_key=key, stored=True)
        bundle, bundle_form = (row.meta or {}).get("bundle"), None
        if bundle is not None:
            form_row = uow.definitions.form(bundle["form"], bundle["form_hash"])
            if form_row is None:
                raise DefinitionRejected(f"流程 {row.process_key} 的一表申报表单 {bundle['form']} 版本缺失")
            bundle_form = parse_form(canonical_json(form_row.source), expected_key=bundle["form"], stored=True)
        loaded = LoadedDefinition(row.id, row.process_key, row.version, row.name, row.content_hash,
                                  process.spec, process.subprocess_specs, process.user_tasks, forms,
                                  tuple(process.clocks), bundle, bundle_form, dict(process.messages),
                                  tuple(process.one_time_notice))
        with self._lock:
            self._loaded[row.id] = loaded
        return loaded

    def application_form(self, uow: SqlAlchemyUnitOfWork, key: str, content_hash: str) -> FormDefinition:
        """Return the application form (申请表单) version a matter pins, parsed once per process."""
        loaded = self._forms.get((key, content_hash))
        if loaded is None:
            row = uow.definitions.form(key, content_hash)
            if row is None:
                raise DefinitionRejected(f"事项的申请表单 {key} 版本缺失")
            loaded = parse_form(canonical_json(row.source), expected_key=key, stored=True)
            with self._lock:
                self._forms[(key, content_hash)] = loaded
        return loaded

    def lint(self, uow: SqlAlchemyUnitOfWork, bpmn_files: list[tuple[str, bytes]],
             form_files: list[tuple[str, bytes]]) -> list[Finding]:
        """Return every finding for the files against what is deployed (see :mod:`engine.lint`); store nothing."""
        def form(key: str) -> FormDefinition | None:
            return _deployed_form(uow, key)
        latest: dict[str, tuple[int, str]] = {}
        clocks: dict[str, tuple[dict[str, Any], ...]] = {}
        bundled: set[str] = set()
        for row in uow.definitions.list():
            if row.process_key not in latest:
                latest[row.process_key] = (row.version, row.bpmn_xml)
                clocks[row.process_key] = tuple((row.meta or {}).get("clocks") or ())
                if (row.meta or {}).get("bundle"):
                    bundled.add(row.process_key)
        org = _known_org(uow)
        # A KnownOrg is the frozenset of district codes that also knows their departments: the catalogs lint
        # reads with it get the same department check as a deploy (TB_CATALOG_DEPARTMENT).
        facts = DeployedFacts(form, latest, org,
                              frozenset((d, code) for d, codes in org.departments.items() for code in codes),
                              clocks=clocks, categories=self.targets.categories,
                              bundled=frozenset(bundled))
        return lint_files(bpmn_files, form_files, self.evaluator,
                          LintLimits(self.max_bpmn_bytes, self.max_form_bytes), facts)

    def deploy(self, uow: SqlAlchemyUnitOfWork, bpmn_files: list[tuple[str, bytes]],
               form_files: list[tuple[str, bytes]], *, actor: str, now: datetime) -> list[Deployed]:
        """Deploy forms, then processes, then matter catalogs, in the caller's unit of work; all or nothing.

        ``bpmn_files`` holds the files of ``processes/``: BPMN diagrams and matter catalogs
        (``matters.yaml``, see :mod:`engine.catalog`), told apart by name. A catalog's matters must name a
        process that is deployed or comes with the same deploy.

        Every file is checked before anything is written; a refusal lists the problems of every bad file at
        once, each finding with the ``file`` it is in (checks that need a stage that failed are left out:
        bundles and catalogs are checked against the processes only when the diagrams parsed).
        """
        catalogs = [(name, data) for name, data in bpmn_files if is_catalog_file(name)]
        bundle_files = [(name, data) for name, data in bpmn_files if is_bundle_file(name)]
        diagrams = [(name, data) for name, data in bpmn_files
                    if not is_catalog_file(name) and not is_bundle_file(name)]
        refused = _Refusals()
        for finding in file_name_findings([name for name, _data in bpmn_files], [name for name, _data in form_files]):
            refused.add(DefinitionRejected(finding.message, code=finding.code), finding.file)
        forms, broken = self._parse_forms(form_files, refused)
        check = CatalogCheck()
        org = _known_org(uow) if catalogs else KnownOrg(())
        for name, data in catalogs:
            with refused.collect(name):
                check.add(parse_catalog(name, data, known_districts=org))
        bundles: list[BundleFile] = []
        for name, data in bundle_files:
            with refused.collect(name):
                bundles.append(parse_bundle(name, data))
        unit: ParsedUnit | None = None
        if diagrams:
            with refused.collect(None):
                unit = parse_unit(diagrams, self.evaluator, max_bytes=self.max_bpmn_bytes)
        processes = unit.processes if unit is not None else {}
        mappings: dict[str, dict[str, Any]] = {}
        form_refs: dict[str, dict[str, str]] = {}
        if unit is not None or not diagrams:
            mappings = self._check_bundles(uow, bundles, processes, forms, refused)
            for key, process in processes.items():
                form_refs[key] = self._form_refs(uow, process, forms, broken, refused)
            with refused.collect(None):
                check.require_processes(lambda key: key in processes or uow.definitions.process_exists(key))
            with refused.collect(None):
                check.require_category_clocks(lambda key: _clocks_of(uow, processes, key), self.targets.categories)
            with refused.collect(None):
                check.require_application_forms(
                    lambda key: forms[key] if key in forms else None if key in broken else _deployed_form(uow, key),
                    lambda key: key in mappings if key in processes else _bundled(uow, key))
        refused.raise_if_any()
        lock_keys(uow, [*(("process", key) for key in processes), *(("form", key) for key in forms),
                        *(("matter", matter.code) for matter in check.matters)])
        try:
            report = [deploy_form(uow, form, actor, now) for form in forms.values()]
            report += [deploy_process(uow, process, form_refs[key], actor, now, mappings.get(key))
                       for key, process in processes.items()]
            report += [deploy_matter(uow, matter, actor, now) for matter in check.matters]
        except IntegrityError as exc:
            # The locks make this rare (a deploy by a server without them); still a 409, never a bare 500.
            raise Conflict("另一次部署同时写入了同一流程、表单或事项的版本，本次部署未作任何修改，请重试",
                           code="DEPLOY_CONCURRENT", details={"error": str(exc.orig)[:200]}) from None
        return report

    def _parse_forms(self, form_files: list[tuple[str, bytes]],
                     refused: "_Refusals") -> tuple[dict[str, FormDefinition], dict[str, str]]:
        """Parse this deploy's forms; return them by key, and the files refused by their name's stem."""
        forms: dict[str, FormDefinition] = {}
        broken: dict[str, str] = {}
        for name, data in form_files:
            try:
                form = parse_form(data, max_bytes=self.max_form_bytes)
            except DefinitionRejected as exc:
                refused.add(exc, name)
                broken[PurePosixPath(name).name.removesuffix(".form")] = name
                continue
            if form.key in forms:
                message = f"表单标识 {form.key} 重复（{name}）"
                refused.add(DefinitionRejected(message, details={"findings": [
                    Finding("FORM_DUPLICATE_ID", message, form.key, file=name).to_dict()]}), name)
                continue
            forms[form.key] = form
        return forms, broken

    def _form_refs(self, uow: SqlAlchemyUnitOfWork, process: ParsedProcess, forms: Mapping[str, FormDefinition],
                   broken: Mapping[str, str], refused: "_Refusals") -> dict[str, str]:
        """The content hash of each form the process's tasks use: this deploy's, else the latest deployed."""
        form_refs = {}
        for key in sorted(process.form_keys):
            if key in forms:
                form_refs[key] = forms[key].content_hash
            elif (row := uow.definitions.form(key)) is not None:
                form_refs[key] = row.content_hash
        missing = [replace(f, file=process.source_name)
                   for f in missing_forms(process.user_tasks, lambda key: key in form_refs, broken)]
        if missing:
            refused.add(DefinitionRejected(missing[0].message, details={"findings": [f.to_dict() for f in missing]}),
                        process.source_name)
        return form_refs

    def _check_bundles(self, uow: SqlAlchemyUnitOfWork, bundles: list[BundleFile], processes: Mapping[str, Any],
                       forms: Mapping[str, FormDefinition], refused: "_Refusals") -> dict[str, dict[str, Any]]:
        """Check every bundle file against this deploy's forms and processes; return docs by process key."""
        def form(key: str) -> FormDefinition | None:
            return forms[key] if key in forms else _deployed_form(uow, key)
        docs: dict[str, dict[str, Any]] = {}
        for bundle in bundles:
            with refused.collect(bundle.name):
                if bundle.process_key in docs:
                    raise DefinitionRejected(f"{bundle.name}：流程 {bundle.process_key} 已有一件事映射")
                docs[bundle.process_key] = bundle.check(form, processes.get(bundle.process_key))
        return docs


def _clocks_of(uow: SqlAlchemyUnitOfWork, processes: Mapping[str, ParsedProcess],
               key: str) -> list[dict[str, Any]] | None:
    """The clocks process ``key`` declares: this deploy's diagram, else the newest deployed version (None: neither)."""
    if key in processes:
        return [c.to_dict() for c in processes[key].clocks]
    if not uow.definitions.process_exists(key):
        return None
    return list((uow.definitions.by_id(uow.definitions.latest_id(key)).meta or {}).get("clocks") or ())


def _deployed_form(uow: SqlAlchemyUnitOfWork, key: str) -> FormDefinition | None:
    """The newest deployed version of form ``key``, parsed (None when it was never deployed)."""
    row = uow.definitions.form(key)
    return parse_form(canonical_json(row.source), expected_key=key, stored=True) if row is not None else None


def _bundled(uow: SqlAlchemyUnitOfWork, key: str) -> bool:
    """Whether the newest deployed version of process ``key`` runs a 一件事 (has a bundle mapping)."""
    if not uow.definitions.process_exists(key):
        return False
    return bool((uow.definitions.by_id(uow.definitions.latest_id(key)).meta or {}).get("bundle"))


def _known_org(uow: SqlAlchemyUnitOfWork) -> KnownOrg:
    """The organisation's district codes, with each district's department codes."""
    return KnownOrg((d.code for d in uow.org.districts()),
                    ((d.district_code, d.code) for d in uow.org.departments()))


class _Refusals:
    """What a deploy refuses, gathered file by file so that one bad file does not hide another's problems."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.findings: list[dict[str, Any]] = []

    @contextmanager
    def collect(self, name: str | None) -> Iterator[None]:
        """Record a :class:`DefinitionRejected` raised inside the block instead of letting it end the deploy."""
        try:
            yield
        except DefinitionRejected as exc:
            self.add(exc, name)

    def add(self, exc: DefinitionRejected, name: str | None) -> None:
        """Record one refusal; findings that name no file get ``name`` (when known)."""
        self.messages.append(exc.message)
        listed = exc.details.get("findings") or [Finding(exc.code, exc.message).to_dict()]
        self.findings += [{**f, "file": name, "line": f.get("line")} if f.get("file") is None and name else dict(f)
                          for f in listed]

    def raise_if_any(self) -> None:
        """Refuse the deploy with every finding, led by the first refusal's message."""
        if not self.messages:
            return
        more = len(self.messages) - 1
        raise DefinitionRejected(self.messages[0] + (f"（另有 {more} 处被拒绝）" if more else ""),
                                 details={"findings": self.findings})
