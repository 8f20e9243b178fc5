"""``tongban drafts`` through Flask's CLI runner: save, list, export, deploy by a designer only, delete."""
from __future__ import annotations

import json
from pathlib import Path

from app.runtime import get_engine
from tests.conftest import ROOT
from tests.draft_diagrams import with_fourth_review
from tests.integration.test_cli import app, runner, stderr_of  # noqa: F401 - fixtures


def deploy_and_users(app, runner) -> None:  # noqa: F811 - app is the fixture's value
    assert runner.invoke(args=["deploy"]).exit_code == 0
    with app.app_context():
        identity = get_engine().identity
        identity.create_user("designer", display_name="流程设计", roles=("designer",), district="500000",
                             department="dsj")
        identity.create_user("clerk", display_name="窗口", roles=("window_clerk",), district="500103",
                             department="zwzx")


def test_a_draft_is_saved_listed_exported_and_deployed_by_a_designer(app, runner, tmp_path: Path):  # noqa: F811
    deploy_and_users(app, runner)
    (tmp_path / "p.bpmn").write_text(with_fourth_review(), encoding="utf-8")
    form = ROOT / "forms" / "review_opinion.form"
    saved = runner.invoke(args=["drafts", "save", "parallel_approval", str(tmp_path / "p.bpmn"),
                                "--form", str(form), "--base-version", "1"])
    assert saved.exit_code == 0, stderr_of(saved)
    assert saved.output.startswith("已保存草稿 #1：parallel_approval（基于第 1 版，1 个表单）")

    listed = json.loads(runner.invoke(args=["drafts", "list", "--json"]).output)
    assert [(d["id"], d["process_key"], d["form_keys"]) for d in listed] == [(1, "parallel_approval",
                                                                             ["review_opinion"])]
    table = runner.invoke(args=["drafts", "list", "--key", "parallel_approval"]).output
    assert "#1" in table and "review_opinion" in table

    exported = runner.invoke(args=["drafts", "export", "1", str(tmp_path / "out")])
    assert exported.exit_code == 0, stderr_of(exported)
    assert (tmp_path / "out" / "parallel_approval.bpmn").read_text(encoding="utf-8") == with_fourth_review()
    assert json.loads((tmp_path / "out" / "review_opinion.form").read_text(encoding="utf-8")) == json.loads(
        form.read_text(encoding="utf-8"))

    refused = runner.invoke(args=["drafts", "deploy", "1", "--actor", "clerk"])
    assert refused.exit_code == 2 and "FORBIDDEN" in stderr_of(refused)
    unknown = runner.invoke(args=["drafts", "deploy", "1", "--actor", "nobody"])
    assert unknown.exit_code == 2 and "UNKNOWN_USER" in stderr_of(unknown)
    deployed = runner.invoke(args=["drafts", "deploy", "1", "--actor", "designer"])
    assert deployed.exit_code == 0, stderr_of(deployed)
    assert deployed.output.splitlines()[0] == "parallel_approval：已部署为第 2 版"
    assert runner.invoke(args=["drafts", "list"]).output.strip() == "没有草稿"


def test_a_bad_draft_and_a_missing_one_exit_2_with_a_chinese_message(app, runner, tmp_path: Path):  # noqa: F811
    deploy_and_users(app, runner)
    (tmp_path / "bad.bpmn").write_text("<not-xml", encoding="utf-8")
    bad = runner.invoke(args=["drafts", "save", "parallel_approval", str(tmp_path / "bad.bpmn")])
    assert bad.exit_code == 2 and "BPMN_MALFORMED_XML" in stderr_of(bad)
    (tmp_path / "lint.bpmn").write_text(with_fourth_review(candidates=None), encoding="utf-8")
    assert runner.invoke(args=["drafts", "save", "parallel_approval", str(tmp_path / "lint.bpmn"),
                               "--base-version", "1"]).exit_code == 0
    failed = runner.invoke(args=["drafts", "deploy", "1", "--actor", "designer"])
    assert failed.exit_code == 2 and "TB_NO_CANDIDATES (review_renfang)" in stderr_of(failed)
    missing = runner.invoke(args=["drafts", "delete", "7"])
    assert missing.exit_code == 2 and "草稿 7 不存在" in stderr_of(missing)
    assert runner.invoke(args=["drafts", "delete", "1"]).output.strip() == "已删除草稿 #1"


def test_a_draft_is_saved_only_by_an_active_designer_or_admin_and_export_failures_are_told(  # noqa: F811
        app, runner, tmp_path: Path):
    deploy_and_users(app, runner)
    (tmp_path / "p.bpmn").write_text(with_fourth_review(), encoding="utf-8")
    args = ["drafts", "save", "parallel_approval", str(tmp_path / "p.bpmn"), "--base-version", "1"]
    clerk = runner.invoke(args=[*args, "--actor", "clerk"])
    assert clerk.exit_code == 2 and "错误 [FORBIDDEN]" in stderr_of(clerk)
    nobody = runner.invoke(args=[*args, "--actor", "nobody"])
    assert nobody.exit_code == 2 and "错误 [UNKNOWN_USER]" in stderr_of(nobody)
    assert runner.invoke(args=["drafts", "list"]).output.strip() == "没有草稿"
    (tmp_path / "bad.form").write_text('{"id": "x",}', encoding="utf-8")
    bad = runner.invoke(args=[*args, "--form", str(tmp_path / "bad.form")])
    assert bad.exit_code == 2 and "表单文件 bad.form 不是有效的 JSON（第 1 行第 12 列）" in stderr_of(bad)
    assert "Expecting" not in stderr_of(bad)
    assert runner.invoke(args=args).exit_code == 0
    (tmp_path / "file").write_text("", encoding="utf-8")
    blocked = runner.invoke(args=["drafts", "export", "1", str(tmp_path / "file" / "out")])
    assert blocked.exit_code == 2, blocked.output
    assert "错误 [EXPORT_FAILED]" in stderr_of(blocked) and "路径中有一段不是文件夹" in stderr_of(blocked)
    assert "Traceback" not in stderr_of(blocked)
