"""verify --all reads a batch of cases' events in one ordered query: same results as case by case, any batch."""
from __future__ import annotations

import pytest

from engine import CompleteTask, StartCase, verify_all, verify_case
from tests.helpers import ACCEPT, CLERK, deploy_shipped
from tests.integration.test_replay import tamper


@pytest.fixture
def cases(engine) -> list:
    deploy_shipped(engine)
    refs = []
    for n in range(5):
        ref = engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": f"申请人{n}"}))
        refs.append(ref)
        if n % 2:     # cases of different lengths
            (accept,) = [t for t in engine.queries.case(CLERK, ref.case_id)["tasks"] if t["element_id"] == "accept"]
            engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    return refs


@pytest.mark.parametrize("batch", [1, 2, 3, 500])
def test_every_batch_size_gives_the_one_by_one_results(engine, cases, database_url, batch):
    tamper(database_url, "UPDATE case_events SET actor = 'x' WHERE case_id = :c AND seq = 2", {"c": cases[1].case_id})
    tamper(database_url, "DELETE FROM case_events WHERE case_id = :c AND seq = 3", {"c": cases[3].case_id})
    tamper(database_url, "DELETE FROM case_events WHERE case_id = :c AND seq = "
           "(SELECT max(seq) FROM case_events WHERE case_id = :c)", {"c": cases[4].case_id})
    together = list(verify_all(engine, batch=batch))
    assert together == [verify_case(engine, ref.case_id) for ref in cases]
    assert [(r.ok, r.broken_seq) for r in together] == [
        (True, None), (False, 2), (True, None), (False, 4), (False, together[4].checked + 1)]
    assert "末尾事件被删除" in together[4].reason and "序号不连续" in together[3].reason
