"""A number field's value beyond what a double holds is a field error over HTTP, on SQLite and PostgreSQL.

README: every submission is checked against the pinned form, «422 lists every bad field», and bad input changes
nothing. The API's JSON reader accepts integers of up to 4,300 digits, so such a number reaches the form check.
"""
from __future__ import annotations

from .test_http_api import assert_error, claim, in_review, case, deployed  # noqa: F401  (fixtures)
from .test_http_api import complete, get_case, only_task


def test_a_number_field_beyond_the_float_range_is_a_field_error_not_a_server_error(client, deployed, in_review):
    """Completing with ``reviewed_area`` = 10^400 is 422 ``FORM_INVALID`` naming the field; the task stays open.

    A 500 there (``math.isfinite`` of an int too large for a float) told the reviewer nothing and hid which
    field was wrong.
    """
    zhujian = deployed["zhujian"]
    task = only_task(client, zhujian, "review_zhujian")
    assert claim(client, zhujian, task["id"]).status_code == 200
    before = get_case(client, zhujian, in_review["case_id"])["version"]
    for digits in ("1" + "0" * 400, "-1" + "0" * 400):
        body = '{"data": {"approved": "approve", "opinion": "同意", "reviewed_area": %s}}' % digits
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", data=body,
                               headers={**zhujian.headers, "Content-Type": "application/json"})
        error = assert_error(response, 422, "FORM_INVALID")
        assert error["details"]["fields"] == {"reviewed_area": ["数值超出可处理的范围"]}
    assert get_case(client, zhujian, in_review["case_id"])["version"] == before
    done = complete(client, zhujian, task["id"], {"approved": "approve", "opinion": "同意",
                                                  "reviewed_area": 12345678901234567890})
    assert done.status_code == 200, done.get_data(as_text=True)
