"""办结即归档 on SQLite and PostgreSQL: queued in the closing transaction, built once by the workers, retried."""
from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile

import pytest
from sqlalchemy import func, select

from engine import (
    Actor, ArchiveBuildFailed, CloseSupervision, Conflict, MaterialInput, ReceiveApplication, TimerWorker, archive_file,
    build_archive, list_archives, verify_archive,
)
from engine.persistence.models import Archive, Case, ProcessDefinition
from tests.helpers import CLERK, deploy_shipped
from tests.integration.closing import CODE, COMPANY, PDF, closed_case, receive, run_to_end

AUDITOR = Actor("auditor", ("auditor",), "500000", "shenji")


@pytest.fixture
def deployed(engine):
    deploy_shipped(engine)
    return engine


def archive_rows(engine) -> list[Archive]:
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(Archive).order_by(Archive.id)))


def stored_zips(engine) -> list:
    return sorted(p for p in engine.config.archives_dir.rglob("*") if p.is_file())


def test_closing_a_case_queues_its_package_in_the_same_transaction_and_writes_no_file(deployed):
    case_id = receive(deployed)
    assert archive_rows(deployed) == []           # a running case has nothing to archive
    assert run_to_end(deployed, case_id) == "completed"
    (row,) = archive_rows(deployed)
    assert (row.case_id, row.state, row.attempts, row.sha256) == (case_id, "pending", 0, None)
    assert stored_zips(deployed) == []            # no file I/O inside the closing transaction


def test_racing_workers_build_each_package_exactly_once(deployed):
    ids = [closed_case(deployed, tag=str(n)) for n in range(3)]
    workers = [TimerWorker(deployed, worker_id=f"w{n}") for n in range(3)]
    results, barrier = [], threading.Barrier(len(workers))

    def run(worker):
        barrier.wait()
        results.append(worker.build_archives())
    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(built for built, _ in results) == 3 and sum(failed for _, failed in results) == 0
    rows = archive_rows(deployed)
    assert [(r.case_id, r.state, r.attempts) for r in rows] == [(i, "built", 1) for i in ids]
    assert TimerWorker(deployed).build_archives() == (0, 0)
    files = stored_zips(deployed)
    assert [f.name for f in files] == sorted(f"{r.case_no}.zip" for r in rows)
    for row in rows:
        path = deployed.config.archives_dir / row.path
        assert row.path.startswith("2026/500103/") and hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256
        check = verify_archive(path)
        assert check.ok and check.chain_head == row.chain_head and check.events == row.event_seq


def test_the_package_holds_the_case_as_recorded(deployed):
    case_id = closed_case(deployed)
    TimerWorker(deployed).build_archives()
    (info,) = list_archives(deployed)
    case = deployed.queries.case(AUDITOR, case_id)
    with zipfile.ZipFile(deployed.config.archives_dir / info.path) as package:
        names = {n.split("/", 1)[1] for n in package.namelist()}
        events = package.read(f"{info.case_no}/records/events.jsonl").decode().splitlines()
        bpmn = package.read(f"{info.case_no}/definition/bpmn/parallel_approval/main.bpmn")
    assert len(events) == case["event_count"] == info.event_seq and info.sha256
    with deployed.database.read_sessions() as session:
        pinned = session.scalar(select(ProcessDefinition.bpmn_xml).join(Case, Case.definition_id == ProcessDefinition.id)
                                .where(Case.id == case_id))
    assert bpmn == pinned.encode()                 # the XML the case runs on, byte for byte
    assert {"metadata/catalog.json", "metadata/application.json", "materials/materials.json",
            "definition/forms/accept_application.form", "definition/forms/review_opinion.form"} <= names
    assert len([n for n in names if n.startswith("materials/files/")]) == 4   # four uploads, one 电子证照


def test_a_failed_build_is_retried_with_back_off_then_left_failed_and_rebuilt_by_hand(deployed, clock):
    case_id = closed_case(deployed)
    material = deployed.services.materials.path_of(hashlib.sha256(PDF + b"drawing").hexdigest())
    saved = material.read_bytes()
    material.unlink()                                      # a material file lost from the store
    worker = TimerWorker(deployed)
    assert worker.build_archives() == (0, 1)
    (row,) = archive_rows(deployed)
    assert (row.state, row.attempts) == ("pending", 1) and "不在材料库中" in row.last_error
    assert worker.build_archives() == (0, 0)               # not before its back-off has passed
    for minutes in (1, 5, 30, 120):
        clock.advance(minutes=minutes, seconds=1)
        assert worker.build_archives() == (0, 1)
    (row,) = archive_rows(deployed)
    assert (row.state, row.attempts) == ("failed", 5)
    clock.advance(hours=10)
    assert worker.build_archives() == (0, 0)               # given up: an operator rebuilds it
    assert stored_zips(deployed) == []
    with pytest.raises(ArchiveBuildFailed):
        build_archive(deployed, case_id, worker="cli")
    material.write_bytes(saved)
    info = build_archive(deployed, case_id, worker="cli")
    assert (info.state, info.attempts) == ("built", 1)
    again = build_archive(deployed, case_id, worker="cli")
    assert again.sha256 == info.sha256                     # the same record gives the same bytes
    assert archive_file(deployed, case_id).sha256 == info.sha256


def test_a_running_case_cannot_be_archived_and_a_changed_file_is_not_served(deployed):
    running = receive(deployed)
    with pytest.raises(Conflict) as caught:
        build_archive(deployed, running, worker="cli")
    assert caught.value.code == "ARCHIVE_CASE_OPEN"
    closed = closed_case(deployed, tag="x")
    with pytest.raises(Conflict, match="正在生成") as pending:
        archive_file(deployed, closed)
    assert pending.value.code == "ARCHIVE_PENDING"
    TimerWorker(deployed).build_archives()
    path = archive_file(deployed, closed).path
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(Conflict) as changed:
        archive_file(deployed, closed)
    assert changed.value.code == "ARCHIVE_FILE_CHANGED"


def test_the_archive_table_counts_one_row_per_closed_case(deployed):
    for n in range(2):
        closed_case(deployed, tag=f"n{n}")
    receive(deployed, tag="open")
    with deployed.database.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Archive)) == 2


def test_an_event_after_closing_queues_the_package_again_and_the_rebuild_covers_it(deployed, clock):
    case_id = receive(deployed)
    clock.advance(days=30)                                 # the committed deadline has passed: a 督办 item opens
    worker = TimerWorker(deployed)
    assert worker.sweep().supervised == 1
    assert run_to_end(deployed, case_id) == "completed"
    worker.build_archives()
    (first,) = list_archives(deployed)
    supervisor = Actor("super_yz", ("supervisor",), "500103", None)
    (item,) = [i for i in deployed.queries.supervision(supervisor) if i["kind"] == "committed_overdue"]
    deployed.handle(CloseSupervision(item["id"], supervisor, "已督促办结"))
    (queued,) = list_archives(deployed)
    assert (queued.state, queued.attempts, queued.sha256) == ("pending", 0, first.sha256)
    assert worker.build_archives() == (1, 0)
    (rebuilt,) = list_archives(deployed)
    assert rebuilt.event_seq == first.event_seq + 1 and rebuilt.sha256 != first.sha256
    assert verify_archive(deployed.config.archives_dir / rebuilt.path).events == rebuilt.event_seq


def test_the_worker_schedules_the_builder_and_the_daily_seal_beside_the_timer_sweep(engine):
    class RecordingScheduler:
        def __init__(self):
            self.jobs = {}

        def add_job(self, func, trigger, **options):
            self.jobs[options["id"]] = (func.__name__, trigger, options.get("seconds"), options["max_instances"])

    scheduler, worker = RecordingScheduler(), TimerWorker(engine, worker_id="w1")
    worker.schedule(scheduler, interval=1.0)
    assert scheduler.jobs == {"timers-w1": ("sweep", "interval", 1.0, 1),
                              "archives-w1": ("build_archives", "interval", 5.0, 1),
                              "seal-w1": ("seal", "interval", 60, 1),
                              "periodic-w1": ("_periodic_job", "interval", 60.0, 1)}


def test_materials_uploaded_with_the_same_bytes_share_one_file_in_the_package(deployed):
    """Intake stores equal content once; the package did too little of the same and failed its own check
    (包中有重名文件), leaving the case unarchived for ever. Now both materials name the one member."""
    same = PDF + b"one scan for two materials"
    materials = (MaterialInput("application_form", io.BytesIO(same), "申请表.pdf"),
                 MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
                 MaterialInput("drawing_review", io.BytesIO(same), "审查合格书.pdf"),
                 MaterialInput("bid_notice", io.BytesIO(PDF + b"bid-same"), "中标通知书.pdf"),
                 MaterialInput("funding_proof", io.BytesIO(PDF + b"fund-same"), "承诺书.pdf", original_verified=True))
    case_id = deployed.handle(ReceiveApplication(CODE, CLERK, COMPANY, "13800138000", materials,
                                                 form={"project": "某小区 2 号楼"})).case.case_id
    assert run_to_end(deployed, case_id) == "completed"
    assert TimerWorker(deployed).build_archives() == (1, 0)
    (info,) = list_archives(deployed)
    path = deployed.config.archives_dir / info.path
    assert verify_archive(path).ok
    with zipfile.ZipFile(path) as package:
        files = [n for n in package.namelist() if "/materials/files/" in n]
        listed = {m["key"]: m["file"] for m in json.loads(package.read(f"{info.case_no}/materials/materials.json"))}
    assert len(files) == 3 and listed["application_form"] == listed["drawing_review"]


def test_a_package_waiting_to_be_retried_says_why_it_failed(deployed):
    case_id = closed_case(deployed)
    deployed.services.materials.path_of(hashlib.sha256(PDF + b"drawing").hexdigest()).unlink()
    assert TimerWorker(deployed).build_archives() == (0, 1)
    with pytest.raises(Conflict) as waiting:
        archive_file(deployed, case_id)
    assert waiting.value.code == "ARCHIVE_PENDING" and waiting.value.details["attempts"] == 1
    assert "已尝试 1 次" in waiting.value.message and "不在材料库中" in waiting.value.message
