"""SQLite's WAL is copied back into the database file by a thread, never by a command's COMMIT."""
from __future__ import annotations

import os
import time

from sqlalchemy import text

from engine.persistence.db import WAL_AUTOCHECKPOINT_PAGES, WalCheckpointer, make_database


def test_the_checkpointer_thread_moves_committed_pages_into_the_database_file(tmp_path):
    path = tmp_path / "wal.sqlite"
    database = make_database(f"sqlite:///{path}")
    try:
        assert isinstance(database.checkpointer, WalCheckpointer)
        with database.engine.begin() as conn:
            # A command's connection checkpoints only far past what the thread lets the WAL reach.
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT_PAGES
            conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
        before = os.path.getsize(path)
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO filler (body) VALUES (:b)"), [{"b": "x" * 4000} for _ in range(200)])
        # About 200 pages sit in the WAL, far below the connections' own threshold: only the thread can
        # have put them into the database file.
        deadline = time.monotonic() + 10
        while os.path.getsize(path) <= before + 100 * 4096 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.getsize(path) > before + 100 * 4096
    finally:
        database.dispose()
    assert not database.checkpointer._thread.is_alive()


def test_only_a_sqlite_file_gets_a_checkpointer(tmp_path):
    memory = make_database("sqlite://")
    try:
        assert memory.checkpointer is None
    finally:
        memory.dispose()


def test_a_checkpointer_whose_file_cannot_be_opened_stops_quietly(tmp_path, caplog):
    missing = WalCheckpointer(str(tmp_path / "no-such-dir" / "x.sqlite"), interval=0.01).start()
    missing._thread.join(timeout=5)
    assert not missing._thread.is_alive()
    assert "could not open" in caplog.text
    missing.stop()
