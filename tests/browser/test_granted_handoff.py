"""A 黔江 window receives a 渝中 matter only under a grant; the next role in 渝中 sees the task, 万州 does not."""
from __future__ import annotations

import re

import pytest

from engine import Actor, GrantMissing, StartCase

from .test_review_flow import fits, log_in, log_out, shot

CODE = "11500103MB1D25937B4000117001"     # 建筑工程施工许可证核发, owned by 渝中区
QIANJIANG = Actor("window_qj", ("window_clerk",), "500114", "zwzx")


def receive_at_qianjiang(engine):
    return engine.handle(StartCase(None, QIANJIANG, {"applicant": "黔江某建材有限公司"}, title="黔江代收施工许可",
                                   matter_code=CODE, owning_district="500103", receiving_district="500114"))


def test_the_next_role_in_another_district_sees_the_task_only_when_granted(server, page):
    from app.runtime import get_engine
    engine = get_engine(server.app)
    with pytest.raises(GrantMissing):
        receive_at_qianjiang(engine)
    engine.grants.add(matter_code=CODE, owning="500103", receiving="500114", rights=["receive"], actor="admin")
    ref = receive_at_qianjiang(engine)
    case_id, case_no = ref.case_id, ref.case_no
    base = server.url

    log_in(page, base, "window_qj")
    page.get_by_role("link", name=re.compile("可认领")).click()
    row = page.get_by_role("row").filter(has_text=case_no)
    row.get_by_role("link", name="受理").click()
    page.get_by_role("button", name="认领任务").click()
    page.get_by_label("受理决定").select_option(label="受理")
    page.get_by_label("受理意见").fill("材料齐全，异地代收，移交业务属地审查")
    page.get_by_label("材料齐全").check()
    page.get_by_role("button", name="提交办理").click()
    page.wait_for_url(f"{base}/")
    assert "已办理：受理" in page.get_by_role("status").inner_text()
    shot(page, "10-qianjiang-after-accept")
    log_out(page)

    log_in(page, base, "reviewer_yz")
    page.get_by_role("link", name=re.compile("可认领")).click()
    row = page.get_by_role("row").filter(has_text=case_no)
    assert "住建部门审查" in row.inner_text() and fits(page)
    shot(page, "11-yuzhong-reviewer-sees-handoff")
    log_out(page)

    log_in(page, base, "window_wz")
    page.get_by_role("link", name=re.compile("可认领")).click()
    assert page.get_by_role("row").filter(has_text=case_no).count() == 0
    assert page.goto(f"{base}/cases/{case_id}").status == 404
