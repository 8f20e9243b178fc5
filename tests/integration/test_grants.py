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
    for blank in (" ", "\u200b\u3000", "\ufeff"):                      # nothing a reader would see
        with pytest.raises(InvalidInput, match="撤销授权须写明理由"):
            grants.revoke(grant.id, actor="admin", reason=blank)
    with pytest.raises(InvalidInput, match="不能超过 500 字"):
        grants.revoke(grant.id, actor="admin", reason="理" * 501)
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
    ({"valid_to": date(9999, 12, 31)}, InvalidInput), ({"valid_from": date(26, 11, 23)}, InvalidInput),
    ({"owning": WANZHOU, "receiving": YUZHONG}, InvalidInput),     # 万州 does not offer this matter
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
    engine.identity.create_user("admin", display_name="管理员", roles=("admin",), district="500000")
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


def _cli(engine, database_url):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    return app.test_cli_runner()


def test_grants_add_and_revoke_refuse_an_unknown_or_non_admin_actor(engine, grants, database_url):
    runner = _cli(engine, database_url)
    engine.identity.create_user("admin", display_name="管理员", roles=("admin",), district="500000")
    engine.identity.create_user("window_yz", display_name="窗口", roles=("window_clerk",), district=YUZHONG,
                                department="zwzx")
    add = ["grants", "add", "--matter", CODE, "--owning", YUZHONG, "--receiving", WANZHOU, "--right", "receive"]
    for actor, code in (("nobody", "UNKNOWN_USER"), ("window_yz", "FORBIDDEN")):
        refused = runner.invoke(args=[*add, "--actor", actor])
        assert refused.exit_code == 2 and f"错误 [{code}]" in refused.output, refused.output
    assert grants.list(include_revoked=True) == []
    assert runner.invoke(args=add).exit_code == 0
    for actor, code in (("ghost", "UNKNOWN_USER"), ("window_yz", "FORBIDDEN")):
        refused = runner.invoke(args=["grants", "revoke", "1", "--reason", "测试", "--actor", actor])
        assert refused.exit_code == 2 and f"错误 [{code}]" in refused.output, refused.output
    assert [g.revoked for g in grants.list(include_revoked=True)] == [False]
    assert [g.created_by for g in grants.list()] == ["admin"]


def test_expired_and_future_grants_are_not_listed_as_in_force(engine, grants, database_url):
    expired = grants.add(matter_code=CODE, owning=YUZHONG, receiving=WANZHOU, rights=["receive"], actor="admin",
                         valid_from=date(2026, 1, 1), valid_to=date(2026, 2, 1))
    live = grants.add(matter_code=CODE, owning=YUZHONG, receiving=QIANJIANG, rights=["receive"], actor="admin")
    future = grants.add(matter_code=CODE, owning=YUZHONG, receiving="all", rights=["notify"], actor="admin",
                        valid_from=date(2027, 1, 1))
    assert [g.id for g in grants.list()] == [live.id]
    listed = {g.id: g.to_dict() for g in grants.list(include_revoked=True)}
    assert (listed[expired.id]["expired"], listed[expired.id]["in_force"]) == (True, False)
    assert (listed[live.id]["expired"], listed[live.id]["in_force"]) == (False, True)
    assert (listed[future.id]["expired"], listed[future.id]["in_force"]) == (False, False)
    runner = _cli(engine, database_url)
    out = runner.invoke(args=["grants", "list"]).output
    assert f"#{live.id} " in out and f"#{expired.id} " not in out and f"#{future.id} " not in out
    out = runner.invoke(args=["grants", "list", "--all"]).output
    assert f"#{expired.id} {CODE}" in out and "2026-01-01～2026-02-01（已过期）" in out
    assert "（尚未生效）" in out


def test_a_second_revoke_names_the_beijing_day_of_the_first(engine, grants, clock):
    grant = grants.add(matter_code=CODE, owning=YUZHONG, receiving=WANZHOU, rights=["receive"], actor="admin")
    clock.set(datetime(2026, 12, 5, 3, 41, tzinfo=CST))          # 2026-12-04 19:41 UTC
    grants.revoke(grant.id, actor="admin", reason="试点结束")
    with pytest.raises(Conflict, match="已于 2026-12-05 由 admin 撤销"):
        grants.revoke(grant.id, actor="admin", reason="再次撤销")


def test_a_grant_that_adds_nothing_to_one_in_force_is_refused_and_one_that_adds_is_kept(grants):
    first = grants.add(matter_code=CODE, owning=YUZHONG, receiving="all", rights=["receive", "notify"],
                       valid_to=date(2027, 6, 30), actor="admin")
    for same in ({"receiving": WANZHOU, "rights": ["receive"], "valid_to": date(2027, 3, 31)},   # inside "all"
                 {"receiving": "all", "rights": ["notify"], "valid_from": date(2027, 1, 4),
                  "valid_to": date(2027, 6, 30)}):
        with pytest.raises(Conflict, match=f"已有授权 #{first.id}") as refused:
            grants.add(matter_code=CODE, owning=YUZHONG, actor="admin", **same)
        assert (refused.value.code, refused.value.details) == ("GRANT_DUPLICATE", {"grant_id": first.id})
    longer = grants.add(matter_code=CODE, owning=YUZHONG, receiving=WANZHOU, rights=["receive"], actor="admin")
    more = grants.add(matter_code=CODE, owning=YUZHONG, receiving=WANZHOU, rights=["receive", "deliver"],
                      valid_to=date(2027, 6, 30), actor="admin")
    assert [g.id for g in grants.list()] == [first.id, longer.id, more.id]
    grants.revoke(longer.id, actor="admin", reason="改为新授权")
    again = grants.add(matter_code=CODE, owning=YUZHONG, receiving=WANZHOU, rights=["receive"],
                       valid_from=date(2027, 7, 1), actor="admin")           # a revoked grant covers nothing
    assert again.id > more.id
