"""Engine configuration: a frozen dataclass built from a mapping (environment variables or Flask config)."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

PREFIX = "TONGBAN_"
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EngineConfig:
    """Settings the engine needs; every field maps to ``TONGBAN_<FIELD>`` in the environment.

    Attributes:
        database_url: SQLAlchemy URL; SQLite file in the instance folder by default.
        processes_dir: where shipped BPMN diagrams live (one folder per matter).
        forms_dir: where shipped form-js forms live.
        max_bpmn_bytes: largest BPMN file accepted by deploy.
        max_form_bytes: largest form file accepted by deploy.
        allow_script_tasks: run script tasks in the restricted evaluator (False refuses them).
        sql_echo: log every SQL statement (debugging only).
        materials_dir: where uploaded materials are stored, by sha256 (never in the database).
        max_material_bytes: largest uploaded material accepted at intake (20 MB by default).
        archives_dir: where archive packages (归档信息包, one zip per closed case) are written.
        workflow_cache_size: running cases' committed workflows kept in memory per process to skip
            deserializing them on the next command (0 disables; the database snapshot stays the truth either
            way; a finished workflow is never kept).
        message_secret: HMAC key that signs every message between cases; the same on every process. Empty:
            the app uses ``instance/message-secret`` (created on first use), a bare engine a random key.
        message_ttl_hours: how long a message waits for a receiver that is not ready before it expires.
        message_max_attempts: failed deliveries before a message is set aside as poison.
        rectification_workdays: working days a department has to rectify a 差评 (好差评 差评整改), 15 by
            default (四川 practice; DOMAIN §3.5).
        online_daily_limit: online applications (全程网办) one applicant account may make per Beijing date
            (20 by default; 0 lifts the limit).
    """

    database_url: str = f"sqlite:///{ROOT / 'instance' / 'tongban.sqlite'}"
    processes_dir: Path = ROOT / "processes"
    forms_dir: Path = ROOT / "forms"
    max_bpmn_bytes: int = 5 * 1024 * 1024
    max_form_bytes: int = 1024 * 1024
    allow_script_tasks: bool = True
    sql_echo: bool = False
    workflow_cache_size: int = 512
    materials_dir: Path = ROOT / "instance" / "materials"
    max_material_bytes: int = 20 * 1024 * 1024
    message_secret: str = ""
    message_ttl_hours: int = 168
    message_max_attempts: int = 8
    archives_dir: Path = ROOT / "instance" / "archives"
    rectification_workdays: int = 15
    online_daily_limit: int = 20

    def __post_init__(self) -> None:
        if not 0 <= self.online_daily_limit <= 100_000:
            raise ValueError("TONGBAN_ONLINE_DAILY_LIMIT 应为 0 到 100000 的整数（0 表示不限），"
                             f"而不是 {self.online_daily_limit}")
        if not 1 <= self.rectification_workdays <= 365:
            raise ValueError("TONGBAN_RECTIFICATION_WORKDAYS 应为 1 到 365 的整数，"
                             f"而不是 {self.rectification_workdays}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, prefix: str = PREFIX) -> "EngineConfig":
        """Build from ``values`` whose keys are ``<prefix><FIELD>`` (upper case); unknown keys are ignored."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            key = f"{prefix}{f.name.upper()}"
            if key in values and values[key] not in (None, ""):
                kwargs[f.name] = _coerce(f.type, values[key])
        return cls(**kwargs)

    @classmethod
    def from_env(cls) -> "EngineConfig":
        """Build from the process environment (read when called, never at import)."""
        return cls.from_mapping(os.environ)


def _coerce(kind: Any, value: Any) -> Any:
    kind = str(kind)
    if "bool" in kind and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if "int" in kind:
        return int(value)
    if "Path" in kind:
        return Path(value)
    return value
