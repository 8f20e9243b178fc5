"""Stored material content and the transactions that refer to it: a refused intake never removes another's file.

Identical content is stored once (:mod:`engine.material_store`), so two intakes may keep the same file at the same
time. An intake the database refuses removes the content it added (:func:`forget_unreferenced`) unless a received
material refers to it. Checked without care, that removal could fall between another intake's keeping the same
content (it found the file there) and its commit: that intake would then record a reference to a file no longer on
disk, and the applicant's material would be lost.

Both sides therefore work under a per-content lock held by a database transaction:

* the remover checks the references and removes the file under it;
* the recorder, in the very transaction that writes its references, checks each file under it and puts back from
  its own staged copy any that went missing (:func:`secure`).

Whichever comes first, the files and the references agree. On PostgreSQL the lock is a transaction advisory lock
on a hash of the content hash, taken in sorted order so two transactions never wait for each other in a circle;
SQLite's write transaction (``BEGIN IMMEDIATE``) already serializes the two.
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import text

from .material_store import MaterialStore, StagedFile
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

if TYPE_CHECKING:   # handlers imports the intake modules that import this one
    from .handlers import Services

_LOCK = text("SELECT pg_advisory_xact_lock(:lock)")


def hold(uow: SqlAlchemyUnitOfWork, digests: Iterable[str]) -> None:
    """Hold the lock of each content hash in ``digests`` until ``uow``'s transaction ends (PostgreSQL).

    On SQLite the transaction's first statement took the database's write lock already; call this after one.
    """
    connection = uow.connection
    if connection is None or connection.dialect.name != "postgresql":
        return
    for digest in sorted(set(digests)):
        key = hashlib.sha256(f"tongban.material\0{digest}".encode()).digest()
        connection.execute(_LOCK, {"lock": int.from_bytes(key[:8], "big", signed=True)})


def secure(uow: SqlAlchemyUnitOfWork, store: MaterialStore, staged: Iterable[StagedFile],
           added: list[str]) -> None:
    """In the transaction recording references to ``staged``: make sure each file is stored when it commits.

    A file a refused intake removed since this one kept it is put back from this intake's staged copy, and its
    hash is appended to ``added`` (should this transaction fail after all, it is this intake's to remove).
    """
    items = sorted(staged, key=lambda item: item.sha256)
    hold(uow, [item.sha256 for item in items])
    for item in items:
        if store.restore(item):
            added.append(item.sha256)


def forget_unreferenced(svc: Services, added: list[str]) -> None:
    """Remove content this refused intake added, unless a received material refers to it (see the module)."""
    if not added or svc.materials is None:
        return
    digests = sorted(set(added))
    with svc.uow() as uow:
        hold(uow, digests)
        for sha256 in digests:
            # Under the locks (SQLite: the write lock its first statement takes): a reference seen here is
            # committed; one not seen is not yet, and its transaction will put the file back (:func:`secure`).
            if not uow.applications.references(sha256):
                svc.materials.forget(sha256)
