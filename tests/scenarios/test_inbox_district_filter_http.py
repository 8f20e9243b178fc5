"""The inbox's ``district`` filter takes every district the org knows, 两江新区 ``CQ-LJXQ`` included, on both databases.

README's Task API: ``district`` is the owning district (业务属地) and ``/counts`` takes the same filters. The
filter's rule is the org file's (``500103`` GB/T 2260, ``CQ-LJXQ`` functional zones), published in the OpenAPI
document as an ECMAScript pattern that a client (Swagger UI) checks exactly as the server does.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from app.runtime import get_engine
from engine import Actor, StartCase
from tests.conftest import IN_CI

from .test_http_api import assert_error, deployed, inbox  # noqa: F401  (fixtures)

LIANGJIANG = "CQ-LJXQ"
"""两江新区: a functional zone, whose district code holds a hyphen (README: 两江新区 ``CQ-LJXQ`` is a demo district)."""
REFUSED = ("CQ-LJXQ\n", "500103\n", "cq-ljxq", "CQ-", "5001030", "600103", " 500103", "CQ-LJXQ/zhujian", "５００１０３")
"""Not district codes: a trailing line break, lower case, too short or long, outside 重庆, full-width digits."""


def test_the_inbox_filters_and_counts_by_a_functional_zone_district(client, deployed):
    """``district=CQ-LJXQ`` filters the inbox and its counts to the cases 两江新区 owns.

    A window that receives cases for 两江新区 must be able to list them; a 422 「格式不正确」 for a district that
    exists is wrong.
    """
    clerk = deployed["clerk"]
    ref = get_engine(client.application).handle(StartCase(
        "parallel_approval", Actor.system(), {"applicant": "两江某公司"}, title="办件", owning_district=LIANGJIANG,
        receiving_district="500103"))
    assert [t["district"] for t in inbox(client, clerk)["items"]] == [LIANGJIANG]

    listed = client.get("/api/v1/tasks", headers=clerk.headers, query_string={"district": LIANGJIANG})
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert [t["case_id"] for t in listed.get_json()["items"]] == [ref.case_id]
    counted = client.get("/api/v1/tasks/counts", headers=clerk.headers, query_string={"district": LIANGJIANG})
    assert counted.status_code == 200, counted.get_data(as_text=True)
    assert counted.get_json()["available"] == 1
    assert inbox(client, clerk, district="500103")["items"] == []


def test_every_district_of_the_org_is_a_filter_and_nothing_else_is(client, deployed):
    """Each seeded district code (区、县、自治县、功能区 and 重庆市) is accepted; text that is no code is a 422."""
    clerk = deployed["clerk"]
    codes = [d.code for d in get_engine(client.application).org.districts()]
    assert {"500000", "500103", LIANGJIANG, "CQ-WSJK"} <= set(codes)
    for code in codes:
        for path in ("/api/v1/tasks", "/api/v1/tasks/counts"):
            response = client.get(path, headers=clerk.headers, query_string={"district": code})
            assert response.status_code == 200, (code, response.get_data(as_text=True))
    for text in REFUSED:
        for path in ("/api/v1/tasks", "/api/v1/tasks/counts"):
            body = assert_error(client.get(path, headers=clerk.headers, query_string={"district": text}),
                                422, "INVALID_INPUT")
            assert "district" in body["details"]["fields"]["query"], text


def test_the_published_pattern_reads_alike_in_javascript(client, deployed):
    """The OpenAPI ``pattern`` of ``district``, run by node's RegExp, accepts and refuses what the server does.

    JSON Schema patterns are ECMA-262: Python's ``\\Z`` or ``(?P<..>)`` would break the client's check, and a
    bare ``$`` lets Python accept a trailing line break that JavaScript refuses. Without node the test is
    skipped locally and fails with ``CI=true`` (the CI installs node for the diagram checks).
    """
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is not installed (CI=true: the pattern check must run)")
        pytest.skip("node is not installed")
    spec = client.get("/api/openapi.json").get_json()
    patterns = {p["schema"]["pattern"] for path in ("/api/v1/tasks", "/api/v1/tasks/counts")
                for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "district"}
    assert len(patterns) == 1, patterns
    codes = [d.code for d in get_engine(client.application).org.districts()]
    script = ("const [pattern, texts] = JSON.parse(process.argv[1]); const rx = new RegExp(pattern, 'u');"
              "console.log(JSON.stringify(texts.map(t => rx.test(t))));")
    run = subprocess.run([node, "-e", script, json.dumps([patterns.pop(), codes + list(REFUSED)])],
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(run.stdout) == [True] * len(codes) + [False] * len(REFUSED)
