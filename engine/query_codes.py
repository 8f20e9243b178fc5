"""Query codes (查询码): the short secret an applicant uses with the 办件编号 to follow their case.

The code is shown once, at intake, and only a salted PBKDF2 hash of it is stored, so neither a database
copy nor a clerk reading the table later can recover it.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 characters with no 0/O or 1/I look-alikes: 8 of them carry 40 bits."""
LENGTH = 8
ITERATIONS = 100_000


def new_query_code() -> str:
    """Return a fresh random 8-character query code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def hash_query_code(code: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Return ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` for ``code`` (normalised to upper case)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", _normalise(code).encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_query_code(code: str, stored: str) -> bool:
    """Return True when ``code`` is the one ``stored`` was made from (constant-time comparison)."""
    try:
        scheme, iterations, salt, _digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        expected = hash_query_code(code, salt=bytes.fromhex(salt), iterations=int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected, stored)


def _normalise(code: str) -> str:
    return "".join(code.split()).upper()
