"""What counts as a written reason: visible text, not spaces or invisible format characters."""
from __future__ import annotations

import pytest

from engine import InvalidInput
from engine.text_input import require_written, written


@pytest.mark.parametrize("text", ["", "   ", "\u3000", "\u200b", "\ufeff", " \u200b\u3000\t\n", "\u202e\u200d", None, 5])
def test_blank_and_invisible_text_is_not_written(text):
    assert written(text) == ""
    with pytest.raises(InvalidInput) as refused:
        require_written(text, "reason", "须写明理由")
    assert (refused.value.message, refused.value.details) == ("须写明理由", {"fields": {"reason": ["必填项"]}})


@pytest.mark.parametrize(("text", "kept"), [(" 材料不全 ", "材料不全"), ("\u200b补正", "\u200b补正"), ("a", "a")])
def test_visible_text_is_kept_stripped(text, kept):
    assert written(text) == kept == require_written(text, "reason", "须写明理由", limit=10)


def test_a_text_past_the_limit_is_refused_with_the_limit():
    with pytest.raises(InvalidInput) as refused:
        require_written("长" * 11, "opinion", "须填写意见", limit=10)
    assert refused.value.details == {"fields": {"opinion": ["最多 10 字"]}}
