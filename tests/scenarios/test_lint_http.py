"""``POST /api/v1/lint``: designers get every finding with 200 and nothing is deployed; others are refused."""
from __future__ import annotations

from tests.bpmn_factory import diagram
from tests.scenarios.test_http_api import CHINESE, assert_error, shipped_files

UNSAFE = diagram(condition="__import__('os').system('id')")


def post_lint(client, caller, files):
    import io
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/api/v1/lint", headers=caller.headers, data=data, content_type="multipart/form-data")


def test_a_designer_gets_every_finding_and_nothing_is_deployed(client, cast):
    response = post_lint(client, cast["designer"], [*shipped_files(), ("evil.bpmn", UNSAFE)])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["ok"], body["errors"]) == (False, 1)
    [finding] = [f for f in body["findings"] if f["severity"] == "error"]
    assert {f["code"] for f in body["findings"] if f is not finding} == {"LINT_NAME_MISSING"}  # the probe is unnamed
    assert (finding["code"], finding["element_id"], finding["severity"], finding["file"]) == (
        "EXPRESSION_REJECTED", "gw", "error", "evil.bpmn")
    assert CHINESE.search(finding["message"])
    assert client.get("/api/v1/definitions", headers=cast["designer"].headers).get_json() == []


def test_the_shipped_files_are_ok(client, cast):
    body = post_lint(client, cast["designer"], shipped_files()).get_json()
    assert (body["ok"], body["errors"], body["findings"]) == (True, 0, [])


def test_a_reviewer_may_not_lint(client, cast):
    assert_error(post_lint(client, cast["zhujian"], [("p.bpmn", diagram())]), 403, "FORBIDDEN")


def test_linting_nothing_is_invalid_input(client, cast):
    assert_error(post_lint(client, cast["designer"], []), 422, "INVALID_INPUT")


def test_a_direction_control_in_a_name_is_refused_by_lint_and_by_deploy(client, cast):
    """A task name that would display reversed ("Trojan Source") never reaches an inbox."""
    from tests.scenarios.test_http_api import upload
    trojan = diagram(process_id="trojan").replace('name="任务"'.encode(), 'name="审批\u202e退回"'.encode(), 1)
    body = post_lint(client, cast["designer"], [("trojan.bpmn", trojan)]).get_json()
    assert [(f["code"], f["file"]) for f in body["findings"]] == [("BPMN_BIDI_TEXT", "trojan.bpmn")]
    assert "元素 task 的属性 name" in body["findings"][0]["message"]
    refused = assert_error(upload(client, cast["designer"], [("trojan.bpmn", trojan)]), 422, "DEFINITION_REJECTED")
    assert [f["code"] for f in refused["details"]["findings"]] == ["BPMN_BIDI_TEXT"]
    assert client.get("/api/v1/definitions", headers=cast["designer"].headers).get_json() == []


def test_a_script_planted_in_the_extension_elements_is_refused_by_lint_and_by_deploy(client, cast):
    """An XHTML script would run in tongban's origin when a staff browser opens the case's diagram."""
    from tests.scenarios.test_http_api import upload
    planted = diagram(process_id="planted", task_extensions=(
        '<tb:assignment candidateGroups="reviewer"/>'
        '<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(document.cookie)</html:script>'))
    body = post_lint(client, cast["designer"], [("planted.bpmn", planted)]).get_json()
    assert [(f["code"], f["file"]) for f in body["findings"]] == [("BPMN_ACTIVE_CONTENT", "planted.bpmn")]
    assert "script 元素（命名空间 http://www.w3.org/1999/xhtml）" in body["findings"][0]["message"]
    refused = assert_error(upload(client, cast["designer"], [("planted.bpmn", planted)]), 422,
                           "DEFINITION_REJECTED")
    assert [f["code"] for f in refused["details"]["findings"]] == ["BPMN_ACTIVE_CONTENT"]
    assert client.get("/api/v1/definitions", headers=cast["designer"].headers).get_json() == []
