"""The organisation model on both databases: the seed, ``tongban org load/show``, and users in districts."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, delete, func, inspect, select

from app.runtime import get_engine
from engine.migrations import alembic_config, upgrade_database
from engine.persistence.models import Department, District, User
from tests.unit.test_org_file import GOOD_CSV, GOOD_YAML

from .test_cli import close_engine, create_user, failed, make_app, ok

SEEDED_DISTRICTS, SEEDED_DEPARTMENTS = 42, 42 * 16


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a migrated database of each kind."""
    application = make_app(database_url)
    application.instance_path = str(tmp_path / "instance")
    yield application
    close_engine(application)


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Flask's CLI runner for the app."""
    return app.test_cli_runner()


def counts(app: Flask) -> tuple[int, int, int]:
    """How many districts, departments and users the database holds."""
    with get_engine(app).database.read_sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                     for model in (District, Department, User))


def load(runner: FlaskCliRunner, tmp_path: Path, text: str, *options: str, name: str = "org.yaml"):
    """Write ``text`` to ``name`` and run ``tongban org load`` on it."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["org", "load", str(path), *options])


# --- the seed ----------------------------------------------------------------------------------------------

def test_the_migration_seeds_every_district_and_its_departments(app):
    assert counts(app) == (SEEDED_DISTRICTS, SEEDED_DEPARTMENTS, 0)
    zones = {d.code: (d.name, d.parent_code) for d in get_engine(app).org.districts() if d.kind == "功能区"}
    assert zones == {"CQ-LJXQ": ("两江新区", None), "CQ-GXQ": ("重庆高新区", None), "CQ-WSJK": ("万盛经开区", "500110")}


def test_migrate_puts_back_seed_rows_that_are_missing_and_leaves_edited_ones_alone(app, runner, database_url):
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(delete(Department).where(Department.district_code == "500243",
                                              Department.code == "shuiwu"))
        conn.execute(District.__table__.update().where(District.code == "500103").values(name="渝中区（改）"))
    engine.dispose()
    assert "已补充 1 条区县和部门" in ok(runner.invoke(args=["migrate"]))
    assert counts(app) == (SEEDED_DISTRICTS, SEEDED_DEPARTMENTS, 0)
    assert get_engine(app).org.districts("500103")[0].name == "渝中区（改）"
    assert "已补充" not in ok(runner.invoke(args=["migrate"]))


def test_org_show_lists_every_district_and_one_districts_departments(runner, app):
    ok(create_user(runner, "reviewer_zj"))
    listing = ok(runner.invoke(args=["org", "show"]))
    assert "共 42 个区县" in listing
    assert any(line.startswith("500243") and "彭水苗族土家族自治县" in line for line in listing.splitlines())
    assert any(line.startswith("CQ-WSJK") and "上级 500110" in line for line in listing.splitlines())
    one = ok(runner.invoke(args=["org", "show", "500103"]))
    assert one.splitlines()[0].startswith("500103   渝中区  区  中心城区")
    (zhujian,) = [line for line in one.splitlines() if line.strip().startswith("zhujian")]
    assert "住房城乡建设委员会" in zhujian and "用户 1 人" in zhujian
    err = failed(runner.invoke(args=["org", "show", "500199"]))
    assert "错误 [UNKNOWN_DISTRICT]" in err and "500199" in err


# --- org load ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name"), [(GOOD_YAML, "org.yaml"), (GOOD_CSV, "org.csv")],
                         ids=["yaml", "csv"])
def test_a_good_file_loads_everything_and_a_second_run_changes_nothing(runner, app, tmp_path, text, name):
    out = ok(load(runner, tmp_path, text, name=name))
    assert "新增 区县 CQ-SQJK" in out and "新增 部门 500103/wenlv" in out and "新增 用户 window_sq" in out
    assert out.splitlines()[-1] == f"已载入 {name}：新增 6 条，更新 0 条，未变化 0 条"
    assert counts(app) == (SEEDED_DISTRICTS + 1, SEEDED_DEPARTMENTS + 2, 3)
    actor = get_engine(app).identity.actor_for_token(get_engine(app).identity.create_token("window_sq"))
    assert (actor.roles, actor.district, actor.department) == (("window_clerk",), "CQ-SQJK", "zwzx")
    assert "window_clerk@CQ-SQJK/zwzx" in actor.groups

    again = ok(load(runner, tmp_path, text, name=name))
    assert again.strip() == f"已载入 {name}：新增 0 条，更新 0 条，未变化 6 条"
    assert counts(app) == (SEEDED_DISTRICTS + 1, SEEDED_DEPARTMENTS + 2, 3)


def test_loading_updates_changed_rows_and_keeps_passwords_and_tokens(runner, app, tmp_path):
    ok(runner.invoke(args=["users", "create", "reviewer_wl", "--name", "旧名", "--role", "reviewer",
                           "--district", "500103", "--department", "zhujian",
                           "--password", "long-enough-pw"]))
    identity = get_engine(app).identity
    token = identity.create_token("reviewer_wl")
    out = ok(load(runner, tmp_path, GOOD_YAML))
    assert "更新 用户 reviewer_wl（display_name、department、roles）" in out
    assert "新增 5 条，更新 1 条" in out
    actor = identity.actor_for_password("reviewer_wl", "long-enough-pw")
    assert actor is not None and actor.roles == ("reviewer", "department_head")
    assert actor.department == "wenlv"
    assert identity.actor_for_token(token).username == "reviewer_wl"
    renamed = GOOD_YAML.replace("name: 文化旅游委员会", "name: 文化和旅游发展委员会")
    assert "更新 部门 500103/wenlv（name）" in ok(load(runner, tmp_path, renamed))


def test_a_dry_run_reports_the_changes_and_writes_nothing(runner, app, tmp_path):
    out = ok(load(runner, tmp_path, GOOD_YAML, "--dry-run"))
    assert "新增 用户 window_sq" in out
    assert out.splitlines()[-1] == "试运行（未写入）：新增 6 条，更新 0 条，未变化 0 条"
    assert counts(app) == (SEEDED_DISTRICTS, SEEDED_DEPARTMENTS, 0)


BAD_FILES = {
    "unknown-district": ("users:\n  - {username: lost_one, name: 甲, roles: [reviewer], district: 500199}\n",
                         "第 {n} 行：用户 lost_one 的区县代码 500199 不存在"),
    "unknown-department": (("users:\n  - {username: lost_one, name: 甲, roles: [reviewer], district: 500101, "
                            "department: wenlv}\n"), "第 {n} 行：区县 500101 没有部门 wenlv"),
    "department-of-unknown-district": ("departments:\n  - {district: 500199, code: zhujian, name: 住建委}\n",
                                       "第 {n} 行：区县代码 500199 不存在"),
    "bad-department-code": ("departments:\n  - {district: 500103, code: Zhu-Jian, name: 住建委}\n",
                            "第 {n} 行：部门代码 “Zhu-Jian” 无效"),
    "unknown-role": ("users:\n  - {username: lost_one, name: 甲, roles: [mayor]}\n", "第 {n} 行：角色无效：mayor"),
    "duplicate": (("users:\n  - {username: lost_one, name: 甲, roles: [reviewer]}\n"
                   "  - {username: lost_one, name: 乙, roles: [reviewer]}\n"),
                  "第 {m} 行：用户名 lost_one 与第 {n} 行重复"),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_a_file_with_one_bad_row_is_refused_whole_and_writes_nothing(runner, app, tmp_path, case):
    bad, message = BAD_FILES[case]
    # Good rows first: they must not be written either.
    good = ("districts:\n  - {code: CQ-SQJK, name: 双桥经开区, kind: 功能区}\n"
            "departments:\n  - {district: CQ-SQJK, code: zwzx, name: 政务服务中心}\n")
    section, rows = bad.split("\n", 1)
    text = good.replace(f"{section}\n", f"{section}\n{rows}") if section in good else good + bad
    first_bad = next(i for i, line in enumerate(text.splitlines(), 1) if line in rows.splitlines())
    result = load(runner, tmp_path, text)
    err = failed(result)
    assert "错误 [ORG_FILE_INVALID]" in err and "未写入任何数据" in err
    expected = f"  - {message.format(n=first_bad, m=first_bad + 1)}"
    (problem,) = [line for line in err.splitlines() if line.startswith("  - ")]
    assert problem.startswith(expected), err
    assert counts(app) == (SEEDED_DISTRICTS, SEEDED_DEPARTMENTS, 0)
    assert get_engine(app).org.districts("500103")[0].departments == get_engine(app).org.districts(
        "500104")[0].departments


def test_a_file_of_unknown_format_or_encoding_is_refused(runner, tmp_path):
    assert "--format" in failed(load(runner, tmp_path, GOOD_YAML, name="org.txt"))
    path = tmp_path / "org.csv"
    path.write_bytes(GOOD_CSV.encode("gbk"))
    assert "UTF-8" in failed(runner.invoke(args=["org", "load", str(path)]))
    assert "已载入" in ok(load(runner, tmp_path, GOOD_YAML, "--format", "yaml", name="org.txt"))


# --- users in districts ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "code", "text"), [
    (["--district", "500199"], "UNKNOWN_DISTRICT", "区县代码 500199 不存在"),
    (["--district", "510104"], "UNKNOWN_DISTRICT", "区县代码 510104 不存在"),
    (["--district", "500101", "--department", "wenlv"], "UNKNOWN_DEPARTMENT", "区县 500101 没有部门 wenlv"),
    (["--department", "zhujian"], "UNKNOWN_DEPARTMENT", "填写部门 zhujian 时必须同时填写区县"),
    (["--district", "500103", "--id-number", "500103198506120318"], "INVALID_INPUT", "身份证号无效"),
], ids=["unknown-district", "outside-chongqing", "unknown-department", "department-without-district",
        "bad-id-number"])
def test_users_create_refuses_an_unknown_district_or_department(runner, app, args, code, text):
    err = failed(create_user(runner, "someone", "--role", "reviewer", *args))
    assert f"错误 [{code}]" in err and text in err
    assert "500103198506120318" not in err
    assert get_engine(app).identity.list_users() == []


def test_users_in_a_functional_zone_or_city_wide_can_be_created(runner, app):
    ok(create_user(runner, "window_lj", "--role", "window_clerk", "--district", "CQ-LJXQ",
                   "--department", "zwzx"))
    ok(create_user(runner, "supervisor_city", "--role", "supervisor", "--district", "500000",
                   "--department", "jiancha"))
    ok(create_user(runner, "auditor_any", "--role", "auditor"))       # city-wide roles need no district
    assert {u.username: u.district for u in get_engine(app).identity.list_users()} == {
        "auditor_any": None, "supervisor_city": "500000", "window_lj": "CQ-LJXQ"}


@pytest.mark.parametrize(("args", "text"), [
    (["--name", "测试", "--role", "reviewer"], "审查人员须填写所在的区县和部门"),
    (["--name", "测试", "--role", "supervisor"], "电子监察（督办）人员须填写所在的区县和部门"),
    (["--name", "测试", "--role", "window_clerk", "--district", "500103"], "窗口人员须填写所在的部门"),
    (["--name", "", "--role", "reviewer", "--district", "500103", "--department", "zhujian"], "姓名不能为空"),
    (["--name", "  ", "--role", "auditor"], "姓名不能为空"),
], ids=["reviewer-nowhere", "supervisor-nowhere", "clerk-without-department", "empty-name", "blank-name"])
def test_users_create_refuses_a_user_who_could_never_work(runner, app, args, text):
    """QA: users without a district and department, or with an empty 姓名, were created (exit 0)."""
    err = failed(runner.invoke(args=["users", "create", "qa_u2", *args]))
    assert "错误 [INVALID_INPUT]" in err and text in err, err
    assert get_engine(app).identity.list_users() == []


def test_org_load_refuses_a_district_role_without_district_and_department_as_users_create_does(runner, app,
                                                                                              tmp_path):
    err = failed(load(runner, tmp_path, "users:\n  - {username: qa_o5, name: 戊, roles: [reviewer]}\n"))
    assert "错误 [ORG_FILE_INVALID]" in err and "第 2 行：用户 qa_o5：审查人员须填写所在的区县和部门" in err, err
    assert counts(app)[2] == 0


def test_users_list_filters_by_district_and_role_and_masks_id_numbers(runner, app):
    ok(create_user(runner, "window_yz", "--role", "window_clerk", "--district", "500103",
                   "--department", "zwzx", "--id-number", "500103198506120317"))
    ok(create_user(runner, "reviewer_yz"))
    ok(create_user(runner, "reviewer_wz", "--role", "reviewer", "--district", "500101", "--department",
                   "shichang"))
    everyone = ok(runner.invoke(args=["users", "list"]))
    assert "500103198506120317" not in everyone
    (clerk,) = [line for line in everyone.splitlines() if line.startswith("window_yz ")]
    assert clerk.endswith("5001**********0317")
    def names(*options: str) -> list[str]:
        return [line.split()[0] for line in ok(runner.invoke(args=["users", "list", *options])).splitlines()]

    assert names("--district", "500103") == ["reviewer_yz", "window_yz"]
    assert names("--role", "reviewer") == ["reviewer_wz", "reviewer_yz"]
    assert names("--district", "500101", "--role", "window_clerk") == []
    assert "错误 [UNKNOWN_DISTRICT]" in failed(runner.invoke(args=["users", "list", "--district", "500199"]))
    assert get_engine(app).identity.list_users(district="500103")[1].id_number == "500103198506120317"


def test_the_demo_covers_every_role_in_four_districts_with_their_departments(runner, app):
    ok(runner.invoke(args=["demo", "seed"]))
    users = get_engine(app).identity.list_users()
    assert {u.district for u in users} >= {"500103", "500101", "500114", "CQ-LJXQ"}
    assert {role for u in users for role in u.roles} == {
        "window_clerk", "reviewer", "department_head", "government_head", "supervisor", "designer", "auditor", "admin",
        "applicant"}
    for district in ("500103", "500101", "500114", "CQ-LJXQ"):
        roles = {role for u in users if u.district == district for role in u.roles}
        assert {"window_clerk", "reviewer", "department_head", "government_head"} <= roles, district
    listing = ok(runner.invoke(args=["users", "list"]))
    assert "5001**********0317" in listing and "500103198506120317" not in listing


def test_the_org_revision_downgrades_and_upgrades_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'roundtrip.sqlite'}"
    upgrade_database(url)
    command.downgrade(alembic_config(url), "fa92ba6f1095")
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        assert not {"districts", "departments"} & set(inspector.get_table_names())
        assert "id_number" not in {c["name"] for c in inspector.get_columns("users")}
        engine.dispose()
        upgrade_database(url)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(District)) == SEEDED_DISTRICTS
    finally:
        engine.dispose()
