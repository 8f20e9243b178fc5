"""多地联办 and 就地批办 through the pages: each district's step in that district's inbox, done by its own people.

户口迁移 (多地联办): 渝中 receives and is the 迁入地, 黔江 is the 迁出地; the 迁出确认 is 黔江 公安's task only.
食品经营许可 (就地批办): 渝中 granted 黔江 the decision itself; 黔江's department head decides in 黔江's inbox, and
the case's history names the authority (GrantExercised: which right, granted by whom to whom, which grant).
"""
from __future__ import annotations

import re
from typing import Callable

from app.demo import DEMO_PASSWORD
from engine import Actor, CompleteTask, StartCase

from .test_review_flow import log_in, log_out, shot

HUKOU = "11500000MB1538920T4000107001"     # 户口迁移（市内一站式迁移）: modes proxy, joint
FOOD = "11500103MB1C47082L4000321001"      # 食品经营许可（告知承诺）, owned by 渝中区: modes online, proxy, local
WINDOW_YZ = Actor("window_yz", ("window_clerk",), "500103", "zwzx")
WINDOW_QJ = Actor("window_qj", ("window_clerk",), "500114", "zwzx")
STAFF = {   # username: display name, role, district, department
    "police_yz": ("渝中公安户政", "reviewer", "500103", "gongan"),
    "police_qj": ("黔江公安户政", "reviewer", "500114", "gongan"),
    "head_qj_sc": ("黔江市场监管科长", "department_head", "500114", "shichang"),
    "head_yz_sc": ("渝中市场监管科长", "department_head", "500103", "shichang"),
}


def add_staff(engine, *usernames: str) -> None:  # noqa: ANN001
    for username in usernames:
        name, role, district, department = STAFF[username]
        engine.identity.create_user(username, display_name=name, roles=(role,), district=district,
                                    department=department, password=DEMO_PASSWORD)


def open_available(page) -> None:  # noqa: ANN001
    """Go to the 可认领 tab and wait until it has loaded (a plain link, a full navigation)."""
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("可认领")).click()
    page.wait_for_url(re.compile(r"tab=available"))


def work(page, base: str, case_no: str, task: str, fill: Callable) -> None:  # noqa: ANN001
    """From the 可认领 tab: open the case's task, claim it, fill the form and submit it."""
    open_available(page)
    page.get_by_role("row").filter(has_text=case_no).get_by_role("link", name=task).click()
    page.get_by_role("button", name="认领任务").click()
    fill(page)
    page.get_by_role("button", name="提交办理").click()
    page.wait_for_url(f"{base}/")
    assert f"已办理：{task}" in page.get_by_role("status").inner_text()


def available(page, case_no: str) -> list[str]:  # noqa: ANN001
    """The task names of ``case_no`` in the 可认领 tab of whoever is logged in."""
    open_available(page)
    return page.get_by_role("row").filter(has_text=case_no).get_by_role("link").filter(
        has_not_text=case_no).all_inner_texts()


def receive_hukou(p) -> None:  # noqa: ANN001
    p.get_by_label("申请人姓名").fill("张三")
    p.get_by_label("迁移原因").select_option(label="结婚投靠")
    p.get_by_label("迁出地（户籍所在区县）").select_option(label="黔江区")
    p.get_by_label("迁出地址").fill("重庆市黔江区城西街道某路 1 号")
    p.get_by_label("迁入地址").fill("重庆市渝中区解放碑街道民族路 8 号")
    p.get_by_label("已核验居民身份证、户口簿原件").check()


def review_in(p) -> None:  # noqa: ANN001
    p.get_by_label("准予迁入").check()
    p.get_by_label("审核意见").fill("符合投靠落户条件")


def confirm_out(p) -> None:  # noqa: ANN001
    p.get_by_label("确认迁出").check()
    p.get_by_label("迁出登记编号").fill("QC-500114-0001")


def test_each_district_does_its_own_step_of_a_joint_household_move_in_its_own_inbox(server, page):
    engine, base = server.app.extensions["tongban"], server.url
    add_staff(engine, "police_yz", "police_qj")
    ref = engine.handle(StartCase(None, WINDOW_YZ, {}, title="户口迁移（黔江→渝中）", matter_code=HUKOU))
    case_no = ref.case_no

    log_in(page, base, "window_yz")
    work(page, base, case_no, "收件（就近窗口）", receive_hukou)
    log_out(page)

    log_in(page, base, "police_qj")
    assert available(page, case_no) == []              # 迁入审核 is 渝中's; 黔江 has nothing yet
    log_out(page)
    log_in(page, base, "police_yz")
    work(page, base, case_no, "迁入审核（迁入地公安）", review_in)
    assert available(page, case_no) == []              # the 迁出 confirmation is not 渝中's
    log_out(page)

    log_in(page, base, "police_qj")
    assert available(page, case_no) == ["迁出确认（迁出地公安）"]
    assert "黔江区" not in page.get_by_role("row").filter(has_text=case_no).inner_text()  # owned by 渝中
    shot(page, "joint-01-qianjiang-inbox")
    work(page, base, case_no, "迁出确认（迁出地公安）", confirm_out)
    log_out(page)

    log_in(page, base, "police_yz")
    assert available(page, case_no) == ["落户登记（迁入地公安）"]
    police_yz = Actor("police_yz", ("reviewer",), "500103", "gongan")
    done = {t["element_id"]: t["completed_by"] for t in engine.queries.case(police_yz, ref.case_id)["tasks"]
            if t.get("completed_by")}
    assert done == {"receive": "window_yz", "review_in": "police_yz", "confirm_out": "police_qj"}


def decide(p) -> None:  # noqa: ANN001
    p.get_by_label("准予行政许可").check()
    p.get_by_label("决定意见").fill("依申请人承诺，准予许可")


def test_the_receiving_district_decides_locally_and_the_history_names_the_grant(server, page):
    engine, base = server.app.extensions["tongban"], server.url
    add_staff(engine, "head_qj_sc", "head_yz_sc")
    grant = engine.grants.add(matter_code=FOOD, owning="500103", receiving="500114",
                              rights=["receive", "formal_review", "decide"], actor="admin")
    ref = engine.handle(StartCase(None, WINDOW_QJ, {"department": "shichang", "substantive_check": False},
                                  title="食品经营许可申请", matter_code=FOOD, owning_district="500103",
                                  receiving_district="500114"))
    for element, data in (("receive", {"applicant_name": "重庆某餐饮管理有限公司", "handling_mode": "commitment",
                                       "received_materials": "申请书、营业执照、告知承诺书", "originals_checked": True}),
                          ("formal_review", {"intake_decision": "accept", "review_note": "材料齐全"}),
                          ("accept_on_spot", {"receipt_no": "黔江受〔2026〕0001 号"})):
        (task,) = [t for t in engine.queries.tasks(WINDOW_QJ, limit=200).items
                   if t["case_id"] == ref.case_id and t["element_id"] == element]
        engine.handle(CompleteTask(task["id"], WINDOW_QJ, data))

    log_in(page, base, "head_yz_sc")
    assert available(page, ref.case_no) == []          # the owner delegated the decision
    log_out(page)
    log_in(page, base, "head_qj_sc")
    assert available(page, ref.case_no) == ["告知承诺审批决定"]
    work(page, base, ref.case_no, "告知承诺审批决定", decide)
    log_out(page)

    log_in(page, base, "auditor")
    page.goto(f"{base}/cases/{ref.case_id}/history")
    rows = page.locator("table.events tr").filter(has_text="依授权办理")
    assert rows.count() == 2
    assert "异地收件：渝中区授予黔江区" in rows.nth(0).inner_text()
    decided = rows.nth(1).inner_text()
    assert f"就地批办（审批决定）：渝中区授予黔江区（授权 #{grant.id}）" in decided
    rows.nth(1).scroll_into_view_if_needed()
    shot(page, "local-01-history-authority")
    after = page.locator("table.events tr").filter(has_text="黔江市场监管科长").first.inner_text()
    assert "告知承诺审批决定" in after
