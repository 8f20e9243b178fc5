"""Exports on SQLite and PostgreSQL: CSV and JSON lines, masked, streamed in bounded memory, bad ranges refused."""
from __future__ import annotations

import csv
import io
import itertools
import json
import tracemalloc
from datetime import date, timedelta

import pytest
from sqlalchemy import event, insert

from app import create_app
from app.runtime import set_engine
from engine import ExportQuery, export_events
from engine.persistence.models import CaseEvent
from tests.helpers import deploy_shipped
from tests.integration.closing import closed_case, started_with_personal_data

DAY = date(2026, 11, 23)


@pytest.fixture
def app(engine, database_url):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(application, engine)
    for username, roles, district in (("auditor", ("auditor",), "500000"), ("reviewer_zj", ("reviewer",), "500103")):
        engine.identity.create_user(username, display_name=username, roles=roles, district=district,
                                    department="shenji" if district == "500000" else "zhujian")
    return application


def bearer(app, username: str) -> dict[str, str]:
    from app.runtime import get_engine
    return {"Authorization": f"Bearer {get_engine(app).identity.create_token(username)}"}


@pytest.fixture
def cases(engine, clock):
    deploy_shipped(engine)
    closed = closed_case(engine)
    personal = started_with_personal_data(engine)
    clock.advance(days=1)
    late = started_with_personal_data(engine)
    return {"closed": closed, "personal": personal, "late": late}


def test_csv_export_of_a_day_on_the_command_line_is_masked(app, engine, cases):
    result = app.test_cli_runner().invoke(args=["export", "events", "--from", "2026-11-23", "--to", "2026-11-23"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    day_one = [e for case in ("closed", "personal") for e in engine.queries.events(cases[case])]
    assert len(rows) == len(day_one) and f"已导出 {len(day_one)} 条事件" in result.stderr
    assert list(rows[0]) == ["case_no", "district", "matter_code", "process_key", "seq", "event_type", "occurred_at",
                             "actor", "element_id", "task_id", "payload", "hash"]
    assert {r["occurred_at"][:10] for r in rows} == {"2026-11-23"} and rows[0]["occurred_at"].endswith("+08:00")
    started = [json.loads(r["payload"]) for r in rows if r["event_type"] == "CaseStarted"]
    personal = [p["data"] for p in started if "id_number" in p["data"]][0]
    assert personal == {"applicant_name": "张*", "id_number": "5001**********0317", "contact_phone": "138****8000",
                        "note": "联系人手机 139****5678"}
    assert "500103198506120317" not in result.stdout and "13912345678" not in result.stdout


def test_jsonl_export_of_a_range_and_a_district(app, engine, cases):
    runner = app.test_cli_runner()
    both = runner.invoke(args=["export", "events", "--from", "2026-11-23", "--to", "2026-11-24", "--format", "jsonl"])
    records = [json.loads(line) for line in both.stdout.splitlines()]
    expected = sum(len(engine.queries.events(c)) for c in cases.values())
    assert len(records) == expected and records[0]["seq"] == 1 and isinstance(records[0]["payload"], dict)
    assert [r["occurred_at"] for r in records] == sorted(r["occurred_at"] for r in records)
    elsewhere = runner.invoke(args=["export", "events", "--from", "2026-11-23", "--to", "2026-11-24",
                                    "--format", "jsonl", "--district", "500101"])
    assert elsewhere.exit_code == 0 and elsewhere.stdout == ""


@pytest.mark.parametrize("args,code", [
    (["--from", "2026-11-24", "--to", "2026-11-23"], "EXPORT_RANGE_REVERSED"),
    (["--from", "1800-01-01", "--to", "2026-11-23"], "EXPORT_RANGE_INVALID"),
    (["--from", "2020-01-01", "--to", "2026-11-23"], "EXPORT_RANGE_TOO_LONG"),
    (["--from", "2026-11-23", "--to", "2026-11-23", "--district", "999999"], "UNKNOWN_DISTRICT"),
])
def test_a_bad_range_on_the_command_line_exits_2_with_a_reason(app, cases, args, code):
    result = app.test_cli_runner().invoke(args=["export", "events", *args])
    assert result.exit_code == 2 and code in result.stderr and result.stdout == ""
    assert app.test_cli_runner().invoke(args=["export", "events", "--from", "23.11.2026", "--to", "x"]).exit_code == 2


def test_the_api_streams_the_export_to_auditors_only(app, cases):
    client = app.test_client()
    url = "/api/v1/exports/events?from=2026-11-23&to=2026-11-24&format=jsonl"
    response = client.get(url, headers=bearer(app, "auditor"))
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/x-ndjson"
    assert 'filename="events-20261123-20261124.jsonl"' in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines and all(json.loads(line)["case_no"].startswith("TB2026112") for line in lines)
    assert "500103198506120317" not in response.get_data(as_text=True)
    csv_response = client.get("/api/v1/exports/events?from=2026-11-23&to=2026-11-23", headers=bearer(app, "auditor"))
    assert csv_response.mimetype == "text/csv" and csv_response.get_data(as_text=True).startswith("case_no,")
    assert client.get(url, headers=bearer(app, "reviewer_zj")).status_code == 403
    assert client.get(url).status_code == 401
    reversed_range = client.get("/api/v1/exports/events?from=2026-11-24&to=2026-11-01", headers=bearer(app, "auditor"))
    assert reversed_range.status_code == 422 and reversed_range.json["code"] == "EXPORT_RANGE_REVERSED"
    bad_date = client.get("/api/v1/exports/events?from=yesterday&to=2026-11-01", headers=bearer(app, "auditor"))
    assert bad_date.status_code == 422 and bad_date.json["details"]["fields"]["query"]["from"] == ["日期格式应为 YYYY-MM-DD"]


def test_an_export_streams_in_bounded_memory_through_a_server_side_cursor(engine, cases, database_url):
    base = engine.queries.events(cases["personal"])[0]
    rows = [{"case_id": cases["personal"], "seq": 1000 + n, "event_type": "Bulk", "actor": "window_yz",
             "occurred_at": base.occurred_at + timedelta(microseconds=n), "element_id": None, "task_id": None,
             "payload": {"note": f"批量 {n} " + "备注" * 400, "id_number": "500103198506120317"},
             "prev_hash": "0" * 64, "hash": "1" * 64} for n in range(12_000)]
    with engine.database.engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(CaseEvent.__table__), rows[start:start + 2000])
    del rows
    cursors: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "case_events" in statement:
            cursors.append(type(cursor).__name__)
    event.listen(engine.database.engine, "before_cursor_execute", seen)
    try:
        tracemalloc.start()
        written = count = 0
        for line in export_events(engine, ExportQuery(DAY, DAY, "jsonl"), batch=500):
            written += len(line.encode())
            count += 1
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        event.remove(engine.database.engine, "before_cursor_execute", seen)
    assert count > 12_000 and written > 20_000_000
    assert peak < written / 5, (peak, written)          # never the whole export in memory
    if engine.database.dialect == "postgresql":
        assert cursors == ["ServerCursor"]               # rows come from the server batch by batch


def test_a_consumer_that_stops_early_gives_the_connection_back(engine, cases):
    lines = export_events(engine, ExportQuery(DAY, DAY, "csv"))
    assert len(list(itertools.islice(lines, 3))) == 3
    lines.close()
    assert engine.database.engine.pool.checkedout() == 0
