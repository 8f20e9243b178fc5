"""Demo users for a first look: every staff role, in 渝中区 500103, 万州区 500101, 黔江区 500114, 两江新区 and 市级,
and one applicant account (全程网办).

Each demo district has its government head (``government_head``, 本级人民政府负责人, no department): they approve
the extensions of the 45-day joint procedure (工改, 行政许可法第四十二条第二款).

Every district and department named here is in the seeded organisation model (engine/data/districts.yaml).
The ID numbers are made up (right check character, no real person) to show masking in lists and the API.
"""
from __future__ import annotations

from pathlib import Path

from engine import Conflict, Engine

DEMO_PASSWORD = "tongban-demo"
# username, display name, roles, district, department (None: a government head acts for the whole district)
DEMO_USERS: tuple[tuple[str, str, tuple[str, ...], str, str | None], ...] = (
    ("window_yz", "渝中窗口", ("window_clerk",), "500103", "zwzx"),
    ("window_qj", "黔江窗口", ("window_clerk",), "500114", "zwzx"),
    ("reviewer_yz", "渝中住建审查", ("reviewer",), "500103", "zhujian"),
    ("reviewer_yz_gh", "渝中规划审查", ("reviewer",), "500103", "guihua"),
    ("reviewer_yz_xf", "渝中消防审查", ("reviewer",), "500103", "xiaofang"),
    ("head_yz", "渝中住建科长", ("department_head", "reviewer"), "500103", "zhujian"),
    ("supervisor", "电子监察", ("supervisor",), "500000", "jiancha"),
    ("designer", "流程设计", ("designer",), "500000", "dsj"),
    ("auditor", "审计", ("auditor",), "500000", "shenji"),
    ("admin", "管理员", ("admin", "designer"), "500000", "dsj"),
    ("window_wz", "万州窗口", ("window_clerk",), "500101", "zwzx"),
    ("reviewer_wz_sc", "万州市场监管审查", ("reviewer",), "500101", "shichang"),
    ("head_wz_sc", "万州市场监管科长", ("department_head", "reviewer"), "500101", "shichang"),
    ("supervisor_wz", "万州电子监察", ("supervisor",), "500101", "jiancha"),
    ("reviewer_qj", "黔江住建审查", ("reviewer",), "500114", "zhujian"),
    ("head_qj", "黔江住建科长", ("department_head", "reviewer"), "500114", "zhujian"),
    ("auditor_qj", "黔江审计", ("auditor",), "500114", "shenji"),
    ("window_lj", "两江新区窗口", ("window_clerk",), "CQ-LJXQ", "zwzx"),
    ("reviewer_lj_gh", "两江新区规划审查", ("reviewer",), "CQ-LJXQ", "guihua"),
    ("head_lj_gh", "两江新区规划科长", ("department_head", "reviewer"), "CQ-LJXQ", "guihua"),
    ("designer_lj", "两江新区流程设计", ("designer",), "CQ-LJXQ", "dsj"),
    ("gov_yz", "渝中区政府负责人", ("government_head",), "500103", None),
    ("gov_wz", "万州区政府负责人", ("government_head",), "500101", None),
    ("gov_qj", "黔江区政府负责人", ("government_head",), "500114", None),
    ("gov_lj", "两江新区管委会负责人", ("government_head",), "CQ-LJXQ", None),
)
DEMO_ID_NUMBERS = {
    "window_yz": "500103198506120317",
    "window_wz": "500101199003041125",
    "window_qj": "500114198811202246",
    "window_lj": "500112199207153363",
    "head_yz": "500103197901010025",
}


DEMO_APPLICANTS = (
    # username, name (as on the ID card), ID number, the window clerk who checked the card
    ("applicant_zs", "张三", "500103199001011232", "window_yz"),
)
"""Applicant accounts for 全程网办 (roles ``applicant``): they log in to 我的办件 and 网上申报 only."""


def seed_demo(engine: Engine, instance: Path) -> list[str]:
    """Create missing demo users with a token each; return lines telling how to log in."""
    instance.mkdir(parents=True, exist_ok=True)
    tokens_file = instance / "demo-tokens.txt"
    known = dict(line.split(" ", 1) for line in tokens_file.read_text().splitlines() if " " in line) \
        if tokens_file.exists() else {}
    for username, name, roles, district, dept in DEMO_USERS:
        try:
            engine.identity.create_user(username, display_name=name, roles=roles, district=district,
                                        department=dept, password=DEMO_PASSWORD,
                                        id_number=DEMO_ID_NUMBERS.get(username))
        except Conflict:
            pass
        if username not in known:
            known[username] = engine.identity.create_token(username, label="demo")
    for username, name, number, verifier in DEMO_APPLICANTS:
        try:
            engine.applicant_accounts.add(username, name=name, id_type="111", id_number=number,
                                          verified_by=verifier, password=DEMO_PASSWORD)
        except Conflict:
            pass
        if username not in known:
            known[username] = engine.identity.create_token(username, label="demo")
    tokens_file.write_text("".join(f"{u} {t}\n" for u, t in known.items()))
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}；API 令牌见 {tokens_file}）："]
    lines += [f"  {u:14} {n}  {','.join(r)}@{d}{f'/{dept}' if dept else ''}" for u, n, r, d, dept in DEMO_USERS]
    lines += [f"  {u:14} {n}  applicant（申请人账号：我的办件、网上申报 /my/cases）" for u, n, _, _ in DEMO_APPLICANTS]
    return lines
