"""`tongban archive build|list|verify`, `worker --once` and the download API, on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import text

from app import create_app
from app.runtime import get_engine, set_engine
from engine import list_archives
from tests.helpers import deploy_shipped
from tests.integration.closing import closed_case, receive
from tests.unit.archive_fixture import entries, rezip


@pytest.fixture
def app(engine, database_url):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(application, engine)
    deploy_shipped(engine)
    for username, roles, district in (("auditor", ("auditor",), "500000"), ("reviewer_zj", ("reviewer",), "500103")):
        engine.identity.create_user(username, display_name=username, roles=roles, district=district,
                                    department="shenji" if district == "500000" else "zhujian")
    return application


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def bearer(app, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {get_engine(app).identity.create_token(username)}"}


def test_the_worker_builds_what_closed_and_the_list_shows_it(runner, engine):
    assert runner.invoke(args=["archive", "list"]).output.strip() == "共 0 个归档包"
    case_id = closed_case(engine)
    pending = runner.invoke(args=["archive", "list"])
    assert "待生成" in pending.output and "共 1 个归档包" in pending.output
    once = runner.invoke(args=["worker", "--once"])
    assert once.exit_code == 0 and "生成归档包 1 个，失败 0 个" in once.stdout, once.output
    (info,) = list_archives(engine)
    listed = runner.invoke(args=["archive", "list", "--state", "built"])
    assert f"{info.case_no}  已生成  事件 {info.event_seq}  尝试 1  {info.sha256[:16]}…  {info.path}" in listed.output
    as_json = [json.loads(line) for line in runner.invoke(args=["archive", "list", "--json"]).output.splitlines()]
    assert as_json[0]["case_id"] == case_id and as_json[0]["sha256"] == info.sha256
    assert runner.invoke(args=["archive", "list", "--state", "failed"]).output.strip() == "共 0 个归档包"
    assert runner.invoke(args=["archive", "list", "--state", "lost"]).exit_code == 2


def test_archive_build_by_case_number_and_its_refusals(runner, engine):
    case_id = closed_case(engine)
    case_no = engine.queries.case(engine.identity.actor_for_username("auditor"), case_id)["case_no"]
    built = runner.invoke(args=["archive", "build", case_no])
    assert built.exit_code == 0, built.output
    assert f"办件 {case_no} 的归档包已生成：" in built.output and f"{case_no}.zip" in built.output
    (info,) = list_archives(engine)
    assert f"SHA-256 {info.sha256}" in built.output
    running = receive(engine, tag="running")
    refused = runner.invoke(args=["archive", "build", str(running)])
    assert refused.exit_code == 2 and "ARCHIVE_CASE_OPEN" in refused.stderr and "尚未办结" in refused.stderr
    missing = runner.invoke(args=["archive", "build", "TB00000000000000"])
    assert missing.exit_code == 2 and "NOT_FOUND" in missing.stderr


def test_archive_verify_runs_offline_and_names_the_first_problem(runner, engine, tmp_path):
    closed_case(engine)
    runner.invoke(args=["worker", "--once"])
    (info,) = list_archives(engine)
    package = engine.config.archives_dir / info.path
    # No database and no configuration: an app pointed at a database that does not exist.
    nowhere = tmp_path / "no" / "such.sqlite"
    offline = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{nowhere}"}).test_cli_runner()
    good = offline.invoke(args=["archive", "verify", str(package)])
    assert good.exit_code == 0, good.output
    assert f"归档信息包 {info.case_no}：完整（" in good.output and f"链头 {info.chain_head}" in good.output
    assert f"包 SHA-256 {info.sha256}" in good.output and not nowhere.parent.exists()
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(_with_changed_event(package.read_bytes(), info.case_no))
    bad = offline.invoke(args=["archive", "verify", str(tampered)])
    assert bad.exit_code == 1
    assert "第一个问题：records/events.jsonl：SHA-256 与清单不符（文件被改动）" in bad.output
    assert "应为：" in bad.output and "实际：" in bad.output
    as_json = json.loads(offline.invoke(args=["archive", "verify", "--json", str(tampered)]).output)
    assert as_json["ok"] is False and as_json["problem"]["entry"] == "records/events.jsonl"
    assert offline.invoke(args=["archive", "verify", str(tmp_path / "missing.zip")]).exit_code == 2


def _with_changed_event(data: bytes, case_no: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name.endswith("records/events.jsonl"):
                content = content.replace(b'"reviewer_zj"', b'"reviewer_zz"', 1)
            target.writestr(name, content)
    return out.getvalue()


def test_archive_verify_names_an_edited_case_record_even_with_the_manifest_fixed_to_match(runner, engine, tmp_path):
    """QA's edit: the legal budget raised, T0 back-dated, an extension added, a segment paused, the starter
    changed, the hashes in the manifest fixed. Each is named with both values, and nothing prints as None."""
    closed_case(engine)
    runner.invoke(args=["worker", "--once"])
    (info,) = list_archives(engine)
    original = (engine.config.archives_dir / info.path).read_bytes()
    case = json.loads(entries(original)["metadata/case.json"])
    legal = case["clocks"]["legal"]["clock"]
    assert (legal["budget"]["amount"], case["started_by"]) == (20, "window_yz")
    for change, said, expected, got in (
            (lambda c: c["clocks"]["legal"]["clock"]["budget"].update(amount=60),
             "clocks.legal.clock.budget（时限）", "20 个工作日", "60 个工作日"),
            (lambda c: c["clocks"]["legal"]["clock"].update(t0="2026-11-02"), "clocks.legal.clock.t0（起算日）",
             legal["t0"], "2026-11-02"),
            (lambda c: c["clocks"]["legal"]["clock"]["extensions"].append({
                "days": 10, "reason": "补录", "approved_by": "admin", "actor": "admin",
                "at": legal["segments"][0]["start"], "told_to_applicant": True}),
             "clocks.legal.clock.extensions（延长）的个数", "0 个", "1 个"),
            (lambda c: c["clocks"]["legal"]["clock"]["segments"][0].update(kind="paused", reason_kind="correction"),
             "clocks.legal.clock.segments[0].kind", "running", "paused"),
            (lambda c: c.update(started_by="admin"), "started_by（启动人）", "window_yz", "admin"),
            (lambda c: c.update(stage="审查"), "stage（办件阶段）", "（无）", "审查"),
            (lambda c: c["clocks"].pop("committed"), "clocks 缺少 committed", "1 个计时时段", "（无）")):
        edited = json.loads(json.dumps(case))
        change(edited)
        tampered = tmp_path / "tampered.zip"
        tampered.write_bytes(rezip(original, change={"metadata/case.json": json.dumps(edited).encode()},
                                   fix_manifest=True, case_no=info.case_no))
        bad = runner.invoke(args=["archive", "verify", str(tampered)])
        assert bad.exit_code == 1 and f"第一个问题：metadata/case.json：{said}" in bad.output, bad.output
        assert f"应为：{expected}\n" in bad.output and f"实际：{got}\n" in bad.output and "None" not in bad.output
        problem = json.loads(runner.invoke(args=["archive", "verify", "--json", str(tampered)]).output)["problem"]
        assert (problem["entry"], problem["code"]) == ("metadata/case.json", "ARCHIVE_CASE_MISMATCH")


def test_auditors_download_a_built_package_and_others_are_refused(app, engine):
    client = app.test_client()
    running = receive(engine, tag="running")
    case_id = closed_case(engine)
    auditor = bearer(app, "auditor")
    pending = client.get(f"/api/v1/cases/{case_id}/archive", headers=auditor)
    assert pending.status_code == 409 and pending.json["code"] == "ARCHIVE_PENDING"
    app.test_cli_runner().invoke(args=["worker", "--once"])
    response = client.get(f"/api/v1/cases/{case_id}/archive", headers=auditor)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    (info,) = list_archives(engine)
    assert hashlib.sha256(response.data).hexdigest() == info.sha256 == response.headers["X-Content-SHA256"]
    assert f'filename={info.case_no}.zip' in response.headers["Content-Disposition"]
    response.close()
    assert client.get(f"/api/v1/cases/{case_id}/archive", headers=bearer(app, "reviewer_zj")).status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}/archive").status_code == 401
    not_closed = client.get(f"/api/v1/cases/{running}/archive", headers=auditor)
    assert not_closed.status_code == 404 and not_closed.json["code"] == "ARCHIVE_NOT_FOUND"
    assert client.get("/api/v1/cases/999999/archive", headers=auditor).status_code == 404


def test_cases_closed_before_archiving_existed_are_queued_with_missing(runner, engine):
    closed_case(engine)
    with engine.database.engine.begin() as conn:     # as if the case had closed before the archives table existed
        conn.execute(text("DELETE FROM archives"))
    receive(engine, tag="running")
    queued = runner.invoke(args=["archive", "build", "--missing"])
    assert queued.exit_code == 0 and "已为 1 个没有归档包的已办结办件排队" in queued.output
    assert "已为 0 个" in runner.invoke(args=["archive", "build", "--missing"]).output
    assert "生成归档包 1 个" in runner.invoke(args=["worker", "--once"]).stdout
    assert [a.state for a in list_archives(engine)] == ["built"]
    assert runner.invoke(args=["archive", "build"]).exit_code == 2
    assert runner.invoke(args=["archive", "build", "1", "--missing"]).exit_code == 2
