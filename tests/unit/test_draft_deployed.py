"""What a draft deploy tells the designer (``DraftDeployed.message``)."""
from __future__ import annotations

from engine.draft_deploy import DraftDeployed


def deployed(status: str, version: int, previous: int | None) -> DraftDeployed:
    return DraftDeployed("permit", version, status, previous, (), ())


def test_the_message_names_the_new_version_or_the_equal_one_and_the_version_that_stays_current():
    assert deployed("created", 4, 3).message == "已部署为第 4 版"
    assert deployed("unchanged", 3, 3).message == "与当前版本相同，未产生新版本"
    assert deployed("unchanged", 1, 3).message == "与第 1 版相同，未产生新版本；当前版本仍为第 3 版"
