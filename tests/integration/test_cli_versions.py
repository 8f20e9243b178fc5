"""``tongban versions``, ``diff``, ``dryrun``, ``migrate KEY`` and ``deploy --as`` through Flask's CLI runner."""
from __future__ import annotations

import json
from pathlib import Path

from app.runtime import get_engine
from engine import StartCase
from tests.conftest import ROOT
from tests.helpers import CLERK
from tests.integration.test_cli import app, failed, ok, runner  # noqa: F401 - fixtures
from tests.versioning import parallel_v1, renamed, with_review


def deploy_version(runner, tmp_path: Path, xml: bytes, *extra: str) -> str:
    folder = tmp_path / f"v{len(list(tmp_path.iterdir()))}" / "parallel_approval"
    folder.mkdir(parents=True)
    (folder / "main.bpmn").write_bytes(xml)
    return runner.invoke(args=["deploy", *extra, str(folder)])


def start_case(app) -> str:
    with app.app_context():
        return get_engine().handle(StartCase("parallel_approval", CLERK)).case_no


def test_versions_and_diff_show_who_deployed_what_and_what_changed(runner, app, tmp_path):
    ok(runner.invoke(args=["deploy"]))
    ok(runner.invoke(args=["users", "create", "designer_yz", "--name", "设计", "--role", "designer",
                           "--district", "500000", "--department", "dsj"]))
    ok(deploy_version(runner, tmp_path, with_review(parallel_v1()), "--as", "designer_yz"))
    start_case(app)
    listing = ok(runner.invoke(args=["versions", "parallel_approval"]))
    lines = listing.splitlines()
    assert lines[0].startswith("parallel_approval（并联审批（示例））当前版本 v2")
    assert lines[1].startswith("* v2") and "designer_yz" in lines[1] and "办理中     1" in lines[1]
    assert lines[2].startswith("  v1") and "system" in lines[2]
    assert [line.split()[-1] for line in lines[3:]] == ["v1", "v2"]
    as_json = json.loads(ok(runner.invoke(args=["versions", "parallel_approval", "--json"])))
    assert [v["version"] for v in as_json["versions"]] == [2, 1]

    diff = ok(runner.invoke(args=["diff", "parallel_approval", "1", "2"]))
    assert "新增  review_shengtai" in diff and "修改  join" in diff and "（流入）" in diff
    assert diff.splitlines()[-1] == "v1 → v2：新增 3，删除 0，修改 2，未变 30；锁定表单新增 0，移除 0，改版 0"
    assert json.loads(ok(runner.invoke(args=["diff", "parallel_approval", "1", "2", "--json"])))["changed"] == [
        "join", "split"]
    assert "尚未部署" in failed(runner.invoke(args=["diff", "parallel_approval", "1", "7"]))
    assert "尚未部署" in failed(runner.invoke(args=["versions", "no_such_process"]))


def test_diff_lists_the_bundle_entries_a_version_changed(runner, tmp_path):
    ok(runner.invoke(args=["deploy"]))
    shipped = ROOT / "processes" / "qiye_kaiban"
    folder = tmp_path / "qiye_kaiban"
    folder.mkdir()
    (folder / "main.bpmn").write_bytes((shipped / "main.bpmn").read_bytes())
    (folder / "bundle.yaml").write_text((shipped / "bundle.yaml").read_text(encoding="utf-8").replace(
        "公司章程", "公司章程（修订版）").replace("        seal_count: seal_count\n", ""), encoding="utf-8")
    ok(runner.invoke(args=["deploy", str(folder)]))
    lines = ok(runner.invoke(args=["diff", "qiye_kaiban", "1", "2"])).splitlines()
    assert "一件事修改  materials.articles.name      公司章程 → 公司章程（修订版）" in lines
    assert "一件事删除  matters.sub_seal.fields.seal_count seal_count" in lines
    assert lines[-1] == ("v1 → v2：新增 0，删除 0，修改 0，未变 73；锁定表单新增 0，移除 0，改版 0；"
                         "一件事映射新增 0，删除 1，修改 1")


def test_deploy_as_someone_who_is_not_a_designer_is_refused(runner, tmp_path):
    ok(runner.invoke(args=["users", "create", "admin_sj", "--name", "管理", "--role", "admin",
                           "--district", "500000", "--department", "dsj"]))
    err = failed(deploy_version(runner, tmp_path, parallel_v1(), "--as", "admin_sj"))
    assert "DEPLOY_FORBIDDEN" in err
    assert "不存在" in failed(deploy_version(runner, tmp_path, parallel_v1(), "--as", "nobody"))


def test_migrate_plans_dry_then_migrates_with_a_progress_bar(runner, app, tmp_path):
    ok(runner.invoke(args=["deploy"]))
    first, second = start_case(app), start_case(app)
    ok(deploy_version(runner, tmp_path, renamed(parallel_v1(), "end_done", "end_granted")))
    out = ok(runner.invoke(args=["migrate", "parallel_approval", "--from", "1", "--to", "2", "--all", "--dry-run"]))
    assert "2 个办件，可迁移 2 个，不可迁移 0 个" in out and f"{first}  可迁移  位于 accept" in out
    result = runner.invoke(args=["migrate", "parallel_approval", "--from", "1", "--to", "2", "--cases", first,
                                 "--batch", "1"])
    assert "已迁移 1 个办件，拒绝 0 个" in ok(result)
    assert "迁移办件" in result.stderr                                  # click.progressbar
    listing = json.loads(ok(runner.invoke(args=["versions", "parallel_approval", "--json"])))
    assert [(v["version"], v["running_cases"]) for v in listing["versions"]] == [(2, 1), (1, 1)]
    assert second in ok(runner.invoke(args=["migrate", "parallel_approval", "--from", "1", "--to", "2",
                                            "--all", "--dry-run"]))


def test_migrate_refuses_cases_it_cannot_move_and_says_why(runner, app, tmp_path):
    ok(runner.invoke(args=["deploy"]))
    case_no = start_case(app)
    ok(deploy_version(runner, tmp_path, renamed(parallel_v1(), "accept", "accept_window")))
    result = runner.invoke(args=["migrate", "parallel_approval", "--from", "1", "--to", "2", "--all"])
    assert result.exit_code == 1
    assert f"{case_no}  不可迁移" in result.stdout and "MIGRATION_ELEMENT_REMOVED accept" in result.stdout
    assert "已迁移 0 个办件，拒绝 1 个" in result.stdout


def test_migrate_needs_its_versions_and_a_selection_and_an_admin(runner, app):
    ok(runner.invoke(args=["deploy"]))
    assert "--from" in failed(runner.invoke(args=["migrate", "parallel_approval", "--all"]))
    assert "二选一" in failed(runner.invoke(args=["migrate", "parallel_approval", "--from", "1", "--to", "2"]))
    assert "流程标识" in failed(runner.invoke(args=["migrate", "--from", "1"]))
    ok(runner.invoke(args=["users", "create", "designer_yz", "--name", "设计", "--role", "designer",
                           "--district", "500000", "--department", "dsj"]))
    err = failed(runner.invoke(args=["migrate", "parallel_approval", "--from", "1", "--to", "2", "--all",
                                     "--as", "designer_yz"]))
    assert "MIGRATION_FORBIDDEN" in err
    for batch in ("0", "1001"):     # refused before anything is planned or printed
        bad = runner.invoke(args=["migrate", "parallel_approval", "--from", "1", "--to", "2", "--all",
                                  "--batch", batch])
        assert bad.exit_code == 2 and bad.stdout == "", bad.stdout
        assert "错误 [INVALID_INPUT]" in bad.stderr and "应为 1 到 1000 之间的批量大小" in bad.stderr


def test_dryrun_runs_a_process_s_scenarios_by_key_folder_or_file(runner, tmp_path):
    ok(runner.invoke(args=["migrate"]))                     # loads the holiday calendar the deadlines count on
    out = ok(runner.invoke(args=["dryrun", "parallel_approval"]))
    assert out.splitlines()[0] == "场景 受理后三部门并联审查，全部同意后办结（all_approve.yaml）：通过"
    assert "  ✓  2 complete 第 11 行 window_clerk@500103/zwzx 办理了 accept（受理）" in out
    assert "期限：legal     parallel_approval        2026-12-22T00:00:00+08:00" in out
    folder = ROOT / "processes" / "standard_permit"
    results = json.loads(ok(runner.invoke(args=["dryrun", str(folder), "--json"])))
    assert [r["ok"] for r in results] == [True, True]
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("steps:\n  - expect: {tasks: [deliver]}\n", encoding="utf-8")
    result = runner.invoke(args=["dryrun", str(folder / "main.bpmn"), "--scenario", str(wrong)])
    assert result.exit_code == 1 and "✗  1 expect   第 2 行 期望待办 [deliver]，实际 [receive]" in result.stdout
    assert "没有找到" in failed(runner.invoke(args=["dryrun", str(tmp_path)]))
