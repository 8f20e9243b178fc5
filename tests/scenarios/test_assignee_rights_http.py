"""Over HTTP, a holder moved out of all of a task's groups gets a 403 with a reason, and may still release it.

See ``tests/integration/test_assignee_rights.py`` for the rule; here the API's answer: 403
``NOT_CANDIDATE_ANYMORE`` with the Chinese reason on completion, 200 on 退回认领, on SQLite and PostgreSQL.
"""
from __future__ import annotations

from sqlalchemy import update

from app.runtime import get_engine
from engine.persistence.models import User

from .test_http_api import APPROVE, assert_error, claim, in_review, case, deployed  # noqa: F401  (fixtures)
from .test_http_api import complete, get_case, only_task

NOT_CANDIDATE = "您已不在该任务的办理人员范围内（组织调整），请释放或由负责人转办"


def test_a_reviewer_moved_away_is_told_to_release_the_task_and_may(client, deployed, in_review):
    zhujian = deployed["zhujian"]
    task = only_task(client, zhujian, "review_zhujian")
    assert claim(client, zhujian, task["id"]).status_code == 200
    with get_engine(client.application).database.engine.begin() as conn:   # the org file moves them to 万州
        conn.execute(update(User).where(User.username == zhujian.username).values(district="500101"))
    before = get_case(client, deployed["clerk"], in_review["case_id"])["version"]
    body = assert_error(complete(client, zhujian, task["id"], APPROVE), 403, "NOT_CANDIDATE_ANYMORE")
    assert body["message"] == NOT_CANDIDATE
    assert get_case(client, deployed["clerk"], in_review["case_id"])["version"] == before
    mine = client.get("/api/v1/tasks?scope=mine", headers=zhujian.headers).get_json()["items"]
    assert [(t["id"], t["not_candidate"]) for t in mine] == [(task["id"], NOT_CANDIDATE)]
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=zhujian.headers).get_json()
    assert detail["not_candidate"] == NOT_CANDIDATE
    released = client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=zhujian.headers)
    assert released.status_code == 200, released.get_data(as_text=True)
    assert_error(complete(client, zhujian, task["id"], APPROVE), 404, "NOT_FOUND")
