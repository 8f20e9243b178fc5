"""Grants: what an owning district delegates to receiving districts, checked before a receiving action."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from app import create_app
from app.runtime import set_engine
from engine import (
    CST, Conflict, GrantMissing, InvalidInput, ManualClock, NotFound, UnknownDistrict,
)
from tests.helpers import deploy_shipped

CODE = "11500103MB1D25937B4000117001"   # the shipped 施工许可 matter, owned by 渝中区 500103
YUZHONG, WANZHOU, QIANJIANG = "500103", "500101", "500114"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=CST))


@pytest.fixture
def grants(engine):
    deploy_shipped(engine)
    return engine.grants


def may(engine, receiving: str, right: str, on: date | None = None):
    with engine.services.uow() as uow:
        return engine.grants.authority(uow, matter_code=CODE, owning=YUZHONG, receiving=receiving, right=right,
                                       on=on)


def test_a_grant_allows_exactly_its_rights_its_district_and_its_dates(engine, grants):
    grant = grants.add(matter_code=CODE, owning=YUZHONG, receiving=WANZHOU, rights=["receive", "formal_review"],
                       valid_to=date(2026, 12, 31), basis="渝府办发〔2022〕25号", actor="admin")
    assert may(engine, WANZHOU, "receive") == grant
    assert may(engine, WANZHOU, "decide") is None                     # the decision stays with 渝中
    assert may(engine, QIANJIANG, "receive") is None                  # another receiving district
    assert may(engine, WANZHOU, "receive", on=date(2027, 1, 1)) is None
    with engine.services.uow() as uow:
        with pytest.raises(GrantMissing, match=r"黔江区（500114）未获渝中区（500103）授予事项“.+”（.+）的异地收件权限"):
            grants.require(uow, matter_code=CODE, owning=YUZHONG, receiving=QIANJIANG, right="receive")


def test_a_grant_to_all_districts_covers_every_receiving_window(engine, grants):
    grants.add(matter_code=CODE, owning=YUZHONG, receiving="all", rights=["deliver"], actor="admin")
    assert may(engine, QIANJIANG, "deliver") is not None and may(engine, WANZHOU, "deliver") is not None
    assert may(engine, QIANJIANG, "receive") is None


def test_a_revoked_grant_no_longer_authorises_but_stays_listed(engine, grants, clock):
    grant = grants.add(matter_code=CODE, owning=YUZHONG, receiving=WANZHOU, rights=["receive"], actor="admin")
    with pytest.raises(InvalidInput):
        grants.revoke(grant.id, actor="admin", reason=" ")
    grants.revoke(grant.id, actor="admin", reason="试点结束")
    assert may(engine, WANZHOU, "receive") is None
    assert grants.list() == [] and [g.revoked for g in grants.list(include_revoked=True)] == [True]
    with pytest.raises(Conflict):
        grants.revoke(grant.id, actor="admin", reason="再次撤销")
    with pytest.raises(NotFound):
        grants.revoke(999, actor="admin", reason="不存在")


@pytest.mark.parametrize("change, error", [
    ({"rights": []}, InvalidInput), ({"rights": ["teleport"]}, InvalidInput),
    ({"receiving": "999999"}, UnknownDistrict), ({"owning": "all"}, InvalidInput),
    ({"receiving": YUZHONG}, InvalidInput), ({"matter_code": "NOPE"}, NotFound),
    ({"valid_from": date(2026, 12, 1), "valid_to": date(2026, 11, 1)}, InvalidInput),
])
def test_bad_grants_are_refused_and_nothing_is_written(grants, change, error):
    args = {"matter_code": CODE, "owning": YUZHONG, "receiving": WANZHOU, "rights": ["receive"], "actor": "admin",
            **change}
    with pytest.raises(error):
        grants.add(**args)
    assert grants.list(include_revoked=True) == []


def test_the_grants_commands(engine, grants, database_url):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    runner = app.test_cli_runner()
    added = runner.invoke(args=["grants", "add", "--matter", CODE, "--owning", YUZHONG, "--receiving", WANZHOU,
                                "--right", "receive", "--right", "notify", "--to", "2027-06-30"])
    assert added.exit_code == 0, added.output
    assert "已添加授权 #1：500103 → 500101" in added.output and "异地收件、一次性告知" in added.output
    listed = runner.invoke(args=["grants", "list", "--district", WANZHOU])
    assert "#1 " in listed.output and "2026-11-23～2027-06-30" in listed.output
    bad = runner.invoke(args=["grants", "add", "--matter", CODE, "--owning", YUZHONG, "--receiving", WANZHOU,
                              "--right", "receive", "--to", "30/06/2027"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    assert runner.invoke(args=["grants", "revoke", "1", "--reason", "调整"]).exit_code == 0
    assert runner.invoke(args=["grants", "list"]).output.strip() == "没有授权"
    again = runner.invoke(args=["grants", "revoke", "1", "--reason", "调整"])
    assert again.exit_code == 2 and "CONFLICT" in again.output
