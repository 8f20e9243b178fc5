"""Browser fixtures: a real tongban server on a free port (temp SQLite, demo users, a manual clock) and
Debian's chromium driven by Playwright.

Without chromium or Playwright the browser tests are skipped; with ``CI=true`` that is a failure instead.
"""
from __future__ import annotations

import os
import shutil
import threading
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest

from app import create_app
from app.demo import seed_demo
from app.runtime import get_engine
from engine import CST, Actor, ManualClock, StartCase, ensure_calendar_seeded, upgrade_database

from ..helpers import deploy_shipped

CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        return f"chromium not found at {CHROMIUM}"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Headless Debian chromium (never a browser Playwright downloads itself)."""
    problem = _missing()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: browser tests must run)")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield chromium
        chromium.close()


class Server:
    """A running tongban server: its base URL, app, clock and the demo case it started."""

    def __init__(self, url: str, app, clock: ManualClock, case_id: int):  # noqa: ANN001
        self.url = url
        self.app = app
        self.clock = clock
        self.case_id = case_id


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Serve the app with waitress in a thread, on a migrated temp SQLite database with demo users."""
    from waitress import create_server
    url = f"sqlite:///{tmp_path / 'tongban.sqlite'}"
    upgrade_database(url)
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=CST))
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": url, "TONGBAN_CLOCK": clock,
                      "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials"),
                      "TONGBAN_ARCHIVES_DIR": str(tmp_path / "archives")})
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    seed_demo(engine, tmp_path / "instance")
    clerk = Actor("window_yz", ("window_clerk",), "500103", "zwzx")
    ref = engine.handle(StartCase("parallel_approval", clerk, {
        "applicant": "重庆山城建设有限公司",
        "materials": [{"name": "建筑工程施工许可证申请表", "copies": 1, "received": True},
                      {"name": "施工图设计文件审查合格书", "copies": 1, "received": True},
                      {"name": "中标通知书", "copies": 1, "received": False}]},
        title="解放碑某商业综合体施工许可"))
    httpd = create_server(app, host="127.0.0.1", port=0, threads=4)
    closing = threading.Event()

    def serve() -> None:
        # close() runs on this test's thread while the loop may sit in select() on a socket it closes: that
        # select then fails with EBADF (seen once in CI). A failure after close was asked for is the shutdown.
        try:
            httpd.run()
        except OSError:
            if not closing.is_set():
                raise
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.effective_port}", app, clock, ref.case_id)
    finally:
        closing.set()
        httpd.close()
        thread.join(timeout=5)
        engine.close()


@pytest.fixture
def page(browser) -> Iterator:  # noqa: ANN001
    """A fresh browser context at 1366x768, Chinese locale."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    tab = context.new_page()
    yield tab
    context.close()
