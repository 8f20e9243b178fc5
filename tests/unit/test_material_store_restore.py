"""MaterialStore.keep leaves a duplicate's staged copy, and restore puts a vanished file back from it."""
from __future__ import annotations

import io

import pytest

from engine import Conflict
from engine.material_store import MaterialStore

PDF = b"%PDF-1.7\n%restore test\n"


def test_keeping_content_already_stored_keeps_the_staged_copy_until_discarded(tmp_path):
    store = MaterialStore(tmp_path, 4096)
    first = store.stage(io.BytesIO(PDF), "a.pdf", label="申请表")
    second = store.stage(io.BytesIO(PDF), "b.pdf", label="申请表")
    assert (store.keep(first), store.keep(second)) == (True, False)
    assert second.temp_path.is_file()
    store.discard(second)
    assert not second.temp_path.exists() and store.exists(first.sha256)


def test_restore_puts_a_removed_file_back_from_the_staged_copy_once(tmp_path):
    store = MaterialStore(tmp_path, 4096)
    first = store.stage(io.BytesIO(PDF), "a.pdf", label="申请表")
    second = store.stage(io.BytesIO(PDF), "b.pdf", label="申请表")
    store.keep(first)
    store.keep(second)
    assert store.restore(second) is False           # still there: nothing to do
    store.forget(first.sha256)
    assert store.restore(second) is True
    assert store.path_of(second.sha256).read_bytes() == PDF


def test_restore_without_a_copy_is_a_conflict_naming_the_file(tmp_path):
    store = MaterialStore(tmp_path, 4096)
    staged = store.stage(io.BytesIO(PDF), "申请表.pdf", label="申请表")
    store.keep(staged)                               # this one added it: its staged copy moved into place
    store.forget(staged.sha256)
    with pytest.raises(Conflict) as lost:
        store.restore(staged)
    assert lost.value.code == "MATERIAL_LOST" and "申请表.pdf" in lost.value.message
