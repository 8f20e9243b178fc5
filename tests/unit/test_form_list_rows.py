"""A dynamic list on the task page builds the rows posted or filled and a few spare ones, whatever their numbers."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from app.pages.form_view import DENSE_ROWS, SPARE_ROWS, build, parse

SOURCE = {"components": [{"type": "dynamiclist", "path": "items", "id": "l1", "label": "补正内容", "components": [
    {"type": "textfield", "key": "name", "id": "t1", "label": "材料名称"}]}]}


def rows(items):
    (the_list,) = items
    return [(group.label, [child.key for child in group.children]) for group in the_list.children]


def test_an_empty_list_offers_spare_rows():
    assert rows(build(SOURCE)) == [(f"第 {n} 项", [f"items.{n - 1}.name"]) for n in range(1, SPARE_ROWS + 1)]


def test_a_posted_row_number_is_a_name_not_a_count_of_rows_to_build():
    """``items.100000.name`` built 100,003 rows (seconds of processor time per request); now at most 100 and it."""
    built = rows(build(SOURCE, {"items.100000.name": "营业执照"}))
    assert built[DENSE_ROWS] == (f"第 {DENSE_ROWS + 1} 项", ["items.100000.name"])
    assert len(built) == DENSE_ROWS + 1 + SPARE_ROWS
    data, flat = parse(SOURCE, MultiDict({"items.100000.name": "营业执照", "items.7.name": "章程"}))
    assert data == {"items": [{"name": "章程"}, {"name": "营业执照"}]}
    assert flat == {"items.0.name": "章程", "items.1.name": "营业执照"}


def test_rows_up_to_the_last_filled_one_are_built_then_spares():
    built = rows(build(SOURCE, {"items.0.name": "a", "items.5.name": "b"}))
    assert [keys for _label, keys in built] == [[f"items.{i}.name"] for i in range(6 + SPARE_ROWS)]
    assert built[-1][0] == f"第 {6 + SPARE_ROWS} 项"
