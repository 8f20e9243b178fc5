"""The case and task pages offer 「下载」 for each uploaded material and show each 电子证照's reference."""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import text

from app.runtime import get_engine

from ..pages_helpers import PASSWORD, csrf_of
from .test_intake_pages import CODE, PDF, app, application_form, client_for  # noqa: F401 (fixture)


@pytest.fixture
def received(app) -> tuple[object, int]:
    """The 渝中 window received an application at the counter page; returns its client and the case id."""
    clerk = client_for(app, "window_yz")
    csrf = csrf_of(clerk, f"/intake?matter={CODE}")
    response = clerk.post("/intake", content_type="multipart/form-data", data=application_form(csrf))
    assert response.status_code == 302, response.get_data(as_text=True)
    return clerk, int(response.headers["Location"].split("/")[2])


def get_file(client, path):
    with client.get(path) as response:
        response.get_data()
    return response


def test_the_case_page_links_each_uploaded_file_and_shows_the_license_reference(app, received):
    clerk, case_id = received
    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    links = re.findall(r'<a href="(/cases/\d+/materials/[a-z_]+)" download aria-label="下载 ([^"]+)">下载</a>', page)
    assert links == [(f"/cases/{case_id}/materials/application_form", "建筑工程施工许可证申请表"),
                     (f"/cases/{case_id}/materials/drawing_review", "施工图设计文件审查合格书"),
                     (f"/cases/{case_id}/materials/funding_proof", "建设资金已经落实承诺书")]
    assert "电子证照 <code>LIC-500103-2026-0001</code>" in page
    assert "申请表.pdf（PDF，1 KB）" in page and "已核验原件（window_yz，" in page
    download = get_file(clerk, links[0][0])
    assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["ETag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'
    assert "filename*=UTF-8''%E7%94%B3%E8%AF%B7%E8%A1%A8.pdf" in download.headers["Content-Disposition"]
    with get_engine(app).database.engine.connect() as conn:
        assert conn.execute(text("SELECT actor, resource, outcome FROM access_log")).all() == [
            ("window_yz", "application_form", "served")]


def test_the_task_page_shows_the_same_links(app, received):
    clerk, case_id = received
    engine = get_engine(app)
    (task,) = [t for t in engine.queries.tasks(engine.identity.actor_for_username("window_yz")).items
               if t["case_id"] == case_id]
    page = clerk.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert f'href="/cases/{case_id}/materials/drawing_review" download' in page
    assert "LIC-500103-2026-0001" in page


def test_others_get_the_not_found_page_and_a_corrupted_file_an_error_page_in_chinese(app, received):
    clerk, case_id = received
    outsider = client_for(app, "window_wz")
    refused = get_file(outsider, f"/cases/{case_id}/materials/application_form")
    assert refused.status_code == 404 and PDF not in refused.data and "您无权查看" in refused.get_data(as_text=True)
    store = get_engine(app).services.materials
    store.path_of(hashlib.sha256(PDF).hexdigest()).write_bytes(PDF + b"changed")
    corrupted = get_file(clerk, f"/cases/{case_id}/materials/application_form")
    assert corrupted.status_code == 409 and "text/html" in corrupted.content_type
    assert "与收件时登记的 SHA-256 不符" in corrupted.get_data(as_text=True)
    licence = get_file(clerk, f"/cases/{case_id}/materials/land_certificate")
    assert licence.status_code == 409 and "电子证照" in licence.get_data(as_text=True)


def test_the_history_page_shows_auditors_who_downloaded_what_and_staff_not_at_all(app, received):
    clerk, case_id = received
    assert get_file(clerk, f"/cases/{case_id}/materials/funding_proof").status_code == 200
    get_engine(app).identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                         department="shenji", password=PASSWORD)
    page = client_for(app, "auditor").get(f"/cases/{case_id}/history").get_data(as_text=True)
    section = page[page.index('id="downloads-title"'):page.index('id="basis-title"')]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>", section)
    assert rows == [("2026-11-23 09:00", "window_yz", "建设资金已经落实承诺书", "已下载")]
    assert hashlib.sha256(PDF + b"f").hexdigest()[:16] in section
    assert "材料查阅记录" not in clerk.get(f"/cases/{case_id}/history").get_data(as_text=True)


def test_the_history_page_loads_earlier_downloads_by_the_access_log_cursor(app, received, clock):
    clerk, case_id = received
    assert get_file(clerk, f"/cases/{case_id}/materials/funding_proof").status_code == 200   # at 09:00
    engine = get_engine(app)
    with engine.database.engine.connect() as conn:
        case_no = conn.execute(text("SELECT case_no FROM cases WHERE id = :id"), {"id": case_id}).scalar_one()
    window = engine.identity.actor_for_username("window_yz")
    for _ in range(53):                                                # 09:01 ... 09:53: 54 rows, 50 a page
        clock.advance(minutes=1)
        engine.access_log.record(window, case_id=case_id, case_no=case_no, resource="application_form",
                                 sha256=None, outcome="served")
    engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    auditor = client_for(app, "auditor")
    newest_first = [f"2026-11-23 09:{minute:02d}" for minute in range(53, -1, -1)]

    def rows(html: str) -> list[str]:
        return [r[0] for r in re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>", html)]

    page = auditor.get(f"/cases/{case_id}/history").get_data(as_text=True)
    section = page[page.index('id="downloads-title"'):page.index('id="basis-title"')]
    assert rows(section) == newest_first[:50]
    more = re.search(r'<a href="([^"]+)"\s+hx-get="([^"]+)"\s+hx-target="#downloads-more" hx-swap="outerHTML">'
                     r"更早的记录</a>", section)
    assert more, section
    href, hx_get = (m.replace("&amp;", "&") for m in more.groups())
    assert hx_get.startswith(f"/cases/{case_id}/history/downloads?before=")
    assert href.startswith(f"/cases/{case_id}/history?downloads_before=") and href.endswith("#downloads-title")
    # htmx swaps the next rows in for the 更早的记录 row: rows only, and no further link on the last page.
    fragment = auditor.get(hx_get, headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<table" not in html and "更早的记录" not in html
    assert rows(html) == newest_first[50:]
    # Without JavaScript the link opens the page at that cursor, with a way back to the newest rows.
    older = auditor.get(href.split("#")[0]).get_data(as_text=True)
    section = older[older.index('id="downloads-title"'):older.index('id="basis-title"')]
    assert rows(section) == newest_first[50:] and "回到最新记录" in section and "更早的记录</a>" not in section
    # A forged cursor is refused, not ignored; staff who may not read the access log get nothing from the rows.
    refused = auditor.get(f"/cases/{case_id}/history/downloads?before=garbage", headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "分页游标无效" in refused.get_data(as_text=True)
    assert clerk.get(hx_get, headers={"HX-Request": "true"}).status_code == 403
