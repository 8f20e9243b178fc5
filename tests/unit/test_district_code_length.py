"""Every code the district rule admits fits every district column (String(12)): none is cut or refused by SQL."""
from __future__ import annotations

import re

from sqlalchemy import String

from engine import DISTRICT_CODE_PATTERN, DISTRICT_CODE_SHAPE_PATTERN
from engine.persistence.models import Base

LONGEST = "CQ-" + "A" * 9


def district_columns():
    return [(table.name, column.name, column.type.length) for table in Base.metadata.tables.values()
            for column in table.columns if "district" in column.name and isinstance(column.type, String)]


def test_the_longest_internal_code_is_twelve_characters_and_one_more_is_no_code():
    for pattern in (DISTRICT_CODE_PATTERN, DISTRICT_CODE_SHAPE_PATTERN):
        assert re.match(pattern, LONGEST) and not re.match(pattern, LONGEST + "A")


def test_every_district_column_holds_the_longest_code():
    columns = district_columns()
    assert len(columns) >= 5
    assert [c for c in columns if c[2] is not None and c[2] < len(LONGEST)] == []
