"""An edit of the case row's clocks or due instants, which no event holds, is found by replay (QA).

QA raised a 20-day legal budget to 60 and moved ``legal_due_at`` in the database: ``verify`` (the chain and the
workflow snapshot) and ``replay`` (every event reproduced) both said intact, while the case page showed 60 days.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import create_engine, select, update

from app import create_app
from app.runtime import set_engine
from engine import Replayer, StartCase, ensure_calendar_seeded, read_history
from engine.persistence.models import Case
from tests.helpers import CLERK, deploy_shipped
from tests.integration.test_replay import approval, clock  # noqa: F401 - fixtures
from tests.pages_helpers import PASSWORD, client_for, csrf_of


def edit_row(database_url: str, case_id: int, change) -> None:
    """Change the case row behind the engine's back (the row has no trigger: any writer may)."""
    eng = create_engine(database_url)
    with eng.begin() as conn:
        row = conn.execute(select(Case.clocks, Case.legal_due_at).where(Case.id == case_id)).one()
        conn.execute(update(Case).where(Case.id == case_id).values(**change(row)))
    eng.dispose()


def replayed(engine, case_id):
    with Replayer(engine) as replayer:
        return replayer.replay_case(case_id)


def longer_budget(row) -> dict:
    clocks = {**row.clocks, "legal": {**row.clocks["legal"]}}
    clocks["legal"]["clock"] = {**clocks["legal"]["clock"], "budget": {"amount": 60, "unit": "workday"}}
    return {"clocks": clocks}


def test_an_unedited_case_row_replays_identical(engine, approval):
    assert replayed(engine, approval.case_id).identical


def test_a_raised_budget_is_a_divergence_of_the_case_row(engine, approval, database_url):
    budget = engine.queries.case(CLERK, approval.case_id)["clocks"]
    edit_row(database_url, approval.case_id, longer_budget)
    result = replayed(engine, approval.case_id)
    found = result.divergence
    assert found is not None and found.reason == "case_row"
    assert found.seq == len(engine.queries.events(approval.case_id))
    assert list(found.expected) == ["clocks"] and list(found.got) == ["clocks"]
    assert found.expected["clocks"]["legal"]["budget"]["amount"] == 60
    assert found.got["clocks"]["legal"]["budget"]["amount"] == 20
    assert "时限（法定/承诺计时）" in found.message and "办件记录被改动" in found.message
    assert budget                                    # the case API read the edited row all along


def test_a_moved_due_instant_of_a_running_case_is_named(engine, clock, database_url):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK, {"applicant": "某公司"})).case_id
    assert replayed(engine, case_id).identical
    edit_row(database_url, case_id, lambda row: {"legal_due_at": datetime(2027, 3, 1, 16, 0, tzinfo=timezone.utc)})
    found = replayed(engine, case_id).divergence
    assert found.reason == "case_row" and list(found.expected) == ["legal_due_at"]
    assert found.expected["legal_due_at"].startswith("2027-03-01")
    assert "法定到期时间" in found.message


def test_the_cli_and_a_history_file_report_it(engine, approval, runner, database_url, tmp_path):
    edit_row(database_url, approval.case_id, longer_budget)
    out = runner.invoke(args=["replay", approval.case_no])
    assert out.exit_code == 1, out.output
    assert "办件记录的时限（法定/承诺计时）与按记录事件重放的结果不同" in out.output
    path = tmp_path / "h.json"
    assert runner.invoke(args=["history", "export", approval.case_no, "-o", str(path)]).exit_code == 0
    assert read_history(path).case["clocks"]["legal"]["clock"]["budget"]["amount"] == 60
    from_file = runner.invoke(args=["replay", "--file", str(path)])
    assert from_file.exit_code == 1 and "时限（法定/承诺计时）" in from_file.output


def test_the_history_page_and_the_api_show_the_differing_columns(engine, approval, database_url):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    edit_row(database_url, approval.case_id, longer_budget)
    client = client_for(app, "auditor")
    token = csrf_of(client, f"/cases/{approval.case_id}/history")
    page = client.post(f"/cases/{approval.case_id}/history/replay", data={"csrf_token": token},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "条事件逐条一致，但办件记录与重放结果不同" in page
    assert '<th scope="row">时限（法定/承诺计时）</th>' in page and '"amount": 60' in page
    bearer = {"Authorization": f"Bearer {engine.identity.create_token('auditor')}"}
    found = client.post(f"/api/v1/cases/{approval.case_id}/replay", headers=bearer).get_json()
    assert found["identical"] is False
    assert (found["divergence"]["reason"], list(found["divergence"]["expected"])) == ("case_row", ["clocks"])
