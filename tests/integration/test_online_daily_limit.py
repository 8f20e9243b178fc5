"""全程网办's daily limit per applicant account (``TONGBAN_ONLINE_DAILY_LIMIT``), on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import (
    Actor, ApplyOnline, EngineConfig, MaterialInput, Party, ReceiveApplication, TooManyAttempts,
)
from engine.clock import CST
from engine.persistence.models import Application, Case, CaseMaterial
from tests.helpers import CLERK
from tests.integration.test_online_intake import applicant_engine

CODE = "11500103MB1D25937B4000117001"          # 施工许可 (parallel_approval): modes online, proxy
PDF = b"%PDF-1.7\n%online limit test\n"
ZHANG = Actor("zhangsan", ("applicant",))
LI = Actor("lisi", ("applicant",))
LIMIT = 2


@pytest.fixture
def online(database_url: str, clock, tmp_path: Path):
    """The shipped catalog, two applicant accounts, at most two online applications per account and day."""
    eng = applicant_engine(database_url, clock, tmp_path, online_daily_limit=LIMIT)
    yield eng
    eng.close()


def materials(tag: str, *, window: bool = False) -> tuple[MaterialInput, ...]:
    body = PDF + tag.encode()
    return (MaterialInput("application_form", io.BytesIO(body), "申请表.pdf"),
            MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
            MaterialInput("drawing_review", io.BytesIO(body + b"d"), "审查合格书.pdf"),
            MaterialInput("bid_notice", missing=True),
            MaterialInput("funding_proof", io.BytesIO(body + b"f"), "承诺书.pdf", original_verified=window))


def apply(eng, actor=ZHANG, tag="a"):
    return eng.handle(ApplyOnline(CODE, actor, "500103", "13800138000", materials=materials(tag)))


def stored(eng, tmp_path: Path) -> tuple[int, int, int, int]:
    with eng.database.read_sessions() as session:
        rows = tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Case, Application, CaseMaterial))
    return (*rows, sum(1 for p in (tmp_path / "materials").rglob("*") if p.is_file()))


def test_the_application_past_the_daily_limit_is_refused_and_writes_nothing(online, tmp_path):
    for n in range(LIMIT):
        apply(online, tag=str(n))
    before = stored(online, tmp_path)
    with pytest.raises(TooManyAttempts) as refused:
        apply(online, tag="over")
    assert refused.value.code == "ONLINE_DAILY_LIMIT"
    assert refused.value.http_status == 429
    assert refused.value.details == {"limit": LIMIT, "today": LIMIT}
    assert "每个账号每天最多 2 件" in refused.value.message
    assert stored(online, tmp_path) == before            # no case, application, material row or file
    apply(online, actor=LI, tag="li")                      # another account has its own count


def test_the_count_starts_over_at_midnight_beijing_time_not_utc(online, clock):
    clock.set(datetime(2026, 11, 23, 23, 30, tzinfo=CST))     # 15:30 UTC: still the 23rd in both
    for n in range(LIMIT):
        apply(online, tag=str(n))
    clock.set(datetime(2026, 11, 23, 23, 59, tzinfo=CST))
    with pytest.raises(TooManyAttempts):
        apply(online, tag="late")
    clock.set(datetime(2026, 11, 24, 0, 1, tzinfo=CST))       # 16:01 UTC on the 23rd: a new Beijing date
    apply(online, tag="next day")


def test_applications_sent_together_are_counted_in_turn(online):
    """Five applications of one account at once: exactly the limit get through, the rest get 429."""
    results: list[object] = []
    start = threading.Barrier(5)

    def send(n: int) -> None:
        start.wait()
        try:
            results.append(apply(online, tag=f"t{n}"))
        except TooManyAttempts as exc:
            results.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [r for r in results if isinstance(r, TooManyAttempts)]
    assert len(results) == 5
    assert len(refused) == 5 - LIMIT, results
    with online.database.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Application)
                              .where(Application.account == "zhangsan")) == LIMIT


def test_a_window_intake_for_the_same_person_is_not_counted(online):
    for n in range(LIMIT):
        apply(online, tag=str(n))
    me = Party("person", "张三", id_type="111", id_number="500103199001011232")
    online.handle(ReceiveApplication(CODE, CLERK, me, "13800138000", materials("window", window=True)))


def test_limit_zero_lifts_the_limit(database_url, clock, tmp_path):
    eng = applicant_engine(database_url, clock, tmp_path, online_daily_limit=0)
    try:
        for n in range(LIMIT + 2):
            apply(eng, tag=str(n))
    finally:
        eng.close()


@pytest.mark.parametrize("value", ["-1", "100001", "many"])
def test_a_bad_limit_in_the_environment_is_refused_at_start_up(value):
    with pytest.raises(ValueError, match="TONGBAN_ONLINE_DAILY_LIMIT|invalid literal"):
        EngineConfig.from_mapping({"TONGBAN_ONLINE_DAILY_LIMIT": value})
