"""A refused intake never removes content another intake is about to refer to (engine.material_claims).

Identical uploads are stored once. An intake the database refuses removes the files it added unless something
refers to them; another intake that kept the same content meanwhile (it found the file there) would otherwise
commit a reference to a file no longer on disk. On SQLite and PostgreSQL.
"""
from __future__ import annotations

import io
import threading

from sqlalchemy import select

from engine import material_claims
from engine.persistence.models import CaseMaterial
from tests.integration.test_intake import PDF, intake, receive  # noqa: F401 - the fixture

__all__ = ["intake"]


def referenced_files_exist(eng) -> dict[str, bool]:
    with eng.database.read_sessions() as session:
        digests = set(session.scalars(select(CaseMaterial.sha256).where(CaseMaterial.sha256.is_not(None))))
    return {digest: eng.services.materials.path_of(digest).is_file() for digest in digests}


def kept_by_another_intake(eng, content: bytes) -> str:
    """Another intake, still running, stores ``content`` first: it is the one that added the file."""
    store = eng.services.materials
    staged = store.stage(io.BytesIO(content), "另一份申请表.pdf", label="申请表")
    assert store.keep(staged) is True
    return staged.sha256


def test_content_removed_by_a_refused_intake_before_another_commits_is_put_back(intake, monkeypatch):
    """The other intake is refused after this one found the shared file stored, and before this one commits."""
    shared = kept_by_another_intake(intake, PDF)
    store = intake.services.materials
    real_keep = store.keep

    def keep_then_the_other_is_refused(staged):
        found = real_keep(staged)
        if staged.sha256 == shared:
            assert found is False                    # the file was there: this intake did not add it
            material_claims.forget_unreferenced(intake.services, [shared])   # the other's cleanup: nothing refers
            assert not store.path_of(shared).is_file()
        return found
    monkeypatch.setattr(store, "keep", keep_then_the_other_is_refused)

    receive(intake)

    files = referenced_files_exist(intake)
    assert shared in files and all(files.values()), files
    assert store.path_of(shared).read_bytes() == PDF


def test_a_refused_intakes_cleanup_waits_for_an_intake_recording_the_same_content(intake, monkeypatch):
    """The cleanup runs while this intake's transaction, which refers to the file, has not committed yet."""
    shared = kept_by_another_intake(intake, PDF)
    secured, release = threading.Event(), threading.Event()
    real_secure = material_claims.secure

    def secure_then_pause(uow, materials, staged, added):
        real_secure(uow, materials, staged, added)
        secured.set()
        assert release.wait(30)
    monkeypatch.setattr(material_claims, "secure", secure_then_pause)

    failures: list[BaseException] = []

    def run(target):
        try:
            target()
        except BaseException as exc:   # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    recording = threading.Thread(target=run, args=(lambda: receive(intake),))
    recording.start()
    assert secured.wait(30)
    cleanup = threading.Thread(target=run, args=(
        lambda: material_claims.forget_unreferenced(intake.services, [shared]),))
    cleanup.start()
    cleanup.join(0.5)
    still_waiting = cleanup.is_alive()
    release.set()
    recording.join(30)
    cleanup.join(30)

    assert failures == []
    assert still_waiting, "the cleanup did not wait for the transaction that refers to the content"
    files = referenced_files_exist(intake)
    assert shared in files and all(files.values()), files
