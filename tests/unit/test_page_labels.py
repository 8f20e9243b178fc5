"""The labels the pages show for clock codes: each clock's name and qualifier, as ClockKind spells them."""
from __future__ import annotations

from flask import Flask

from app.pages.labels import CLOCKS, CLOCKS_SHORT, register_filters


def test_the_pages_name_each_clock_in_full_or_by_its_qualifier():
    assert CLOCKS == {"legal": "法定时限", "committed": "承诺时限"}
    assert CLOCKS_SHORT == {"legal": "法定", "committed": "承诺"}


def test_the_clock_kind_filter_names_a_known_clock_and_shows_another_code_as_recorded():
    app = Flask(__name__)
    register_filters(app)
    template = app.jinja_env.from_string("{{ 'committed' | clock_kind }}/{{ 'task' | clock_kind }}")
    assert template.render() == "承诺时限/task"
