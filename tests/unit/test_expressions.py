"""The restricted evaluator: what diagrams may compute, what they may never reach, and how it is bounded."""
from __future__ import annotations

import pytest

from engine import expressions
from engine.errors import ExpressionFailed, ExpressionRejected
from engine.expressions import ALLOWED_METHODS, DEFAULT_FUNCTIONS, Evaluator, Limits


class Spy:
    """A data value that records every attribute Python (or an attacker) reads from it."""

    touched: list[str] = []

    def __getattribute__(self, name: str):
        Spy.touched.append(name)
        return object.__getattribute__(self, name)


@pytest.fixture
def evaluator() -> Evaluator:
    return Evaluator()


DATA = {"amount": 250, "district": "yuzhong", "votes": ["approve", "reject", "approve"], "form": {"x": 41},
        "needs": ["env", "fire"], "approved": True, "d": "2024-05-06"}


@pytest.mark.parametrize(("source", "expected"), [
    ('amount > 100 and district == "yuzhong"', True),
    ('len([v for v in votes if v == "approve"]) >= 2', True),
    ('"P5D"', "P5D"),
    ('form.get("x", 0) + 1', 42),
    ('form.get("missing", 0) + 1', 1),
    ('"env" in needs', True),
    ('"water" not in needs', True),
    ("approved if amount < 10 else False", False),
    ('{"a": 1, "b": [1, 2]}', {"a": 1, "b": [1, 2]}),
    ("{1, 2, 2}", {1, 2}),
    ("[amount, -amount, +1, not approved]", [250, -250, 1, False]),
    ("(1, 2)", (1, 2)),
    ("100 < amount <= 250", True),
    ("amount / 4 + amount // 4 - amount % 7", 62.5 + 62 - 5),
    ("needs[0] + needs[-1][1:]", "envire"),
    ('"__class__" in "a __class__ string"', True),
    ("sorted(votes, key=len, reverse=True)[0]", "approve"),
    ('",".join([n.upper() for n in needs])', "ENV,FIRE"),
    ("{k: v * 2 for k, v in form.items()}", {"x": 82}),
    ("max(1, amount) + min([3, 2]) + sum([1, 2]) + abs(-1) + round(2.5)", 250 + 2 + 3 + 1 + 2),
    ('int("7") + float("0.5") + len(str(amount)) + bool(0)', 10.5),
    ("any(v == 'reject' for v in votes) and not all(v == 'approve' for v in votes)", True),
    ('d.startswith("2024") and "x".isdigit() is False', True),
    ("amount is not None", True),
], ids=lambda value: value if isinstance(value, str) else None)
def test_allows_typical_conditions_and_computes_their_values(evaluator, source, expected):
    evaluator.check_expression(source)
    assert evaluator.evaluate(source, DATA) == expected


def test_surrounding_whitespace_from_a_diagram_is_ignored(evaluator):
    assert evaluator.evaluate("\n    amount > 100\n  ", DATA) is True


def test_a_function_added_by_the_engine_is_callable(evaluator):
    calls = []

    def workdays_after(start, days):
        calls.append((start, days))
        return "2024-05-13"

    with_calendar = Evaluator({"workdays_after": workdays_after})
    assert with_calendar.evaluate("workdays_after(d, 5)", DATA) == "2024-05-13"
    assert calls == [("2024-05-06", 5)]
    with pytest.raises(ExpressionRejected):
        evaluator.check_expression("workdays_after(d, 5)")


def test_function_names_that_could_reach_internals_are_refused():
    with pytest.raises(ValueError):
        Evaluator({"__tb_iter__": iter})


def test_the_public_tables_hold_only_safe_names():
    assert set(DEFAULT_FUNCTIONS) == {"len", "min", "max", "sum", "abs", "round", "int", "float", "str",
                                      "bool", "any", "all", "sorted", "value_of"}
    assert not ALLOWED_METHODS & {"format", "format_map", "mro", "append", "update", "pop", "__class__"}


def test_value_of_reads_a_variable_that_may_not_be_set_and_nothing_hidden():
    evaluator = Evaluator()
    assert evaluator.evaluate('value_of("tolerance", False)', {}) is False
    assert evaluator.evaluate('value_of("tolerance", False)', {"tolerance": True}) is True
    assert evaluator.evaluate('value_of("missing")', {}) is None
    assert evaluator.evaluate('value_of("_secret", 0)', {"_secret": 1}) == 0       # private names stay invisible
    assert evaluator.evaluate('value_of("len", 0)', {}) == 0                        # data only, never a function
    assert evaluator.evaluate("value_of(1, 2)", {}) == 2
    assert evaluator.evaluate('value_of("x", 0)', {"x": 5, "value_of": "shadow"}) == 5   # data cannot shadow it
    assert evaluator.names_used('a == 1 and value_of("b", 0)') == frozenset({"a"})


REJECTED = [
    "__import__('os').system('id')",
    "().__class__.__base__.__subclasses__()",
    "open('/etc/passwd').read()",
    "getattr(amount, '__class__')",
    "(lambda: 1)()",
    "amount.__class__",
    "amount.real",
    "form.get",
    "[c for c in ().__class__.__mro__]",
    "eval('1+1')",
    "exec('x=1')",
    "globals()",
    "vars()",
    "type(amount)",
    "'{0.__class__}'.format(amount)",
    "'{x}'.format_map(form)",
    'f"{amount}"',
    "10**10**10",
    "1 << 100000",
    "_secret",
    "(x := 1)",
    "[*needs]",
    "{**form}",
    "sorted(needs, **form)",
    "needs[0]()",
    "amount >",
    "x" * 4001,
    "[" + ", ".join(["1"] * 600) + "]",
    "-" * 300 + "1",
]


@pytest.mark.parametrize("source", REJECTED, ids=lambda source: source[:40])
def test_rejects_forbidden_constructs_before_running_anything(evaluator, source):
    spy_names = {name: Spy() for name in ("amount", "form", "needs", "x")}
    Spy.touched.clear()
    with pytest.raises(ExpressionRejected) as caught:
        evaluator.evaluate(source, spy_names)
    assert caught.value.details["expression"] == source
    assert caught.value.details["reason"] in {"attribute", "name", "call", "node", "syntax", "length", "size",
                                              "depth", "target"}
    assert Spy.touched == []
    with pytest.raises(ExpressionRejected):
        evaluator.check_expression(source)


@pytest.mark.parametrize("source", REJECTED, ids=lambda source: source[:40])
def test_rejects_the_whole_expression_so_an_allowed_prefix_never_runs(source):
    ran = []
    guarded = Evaluator({"mark": lambda: ran.append(True)})
    with pytest.raises(ExpressionRejected):
        guarded.evaluate(f"mark() or ({source})", {"amount": 1, "form": {}, "needs": [], "x": 1})
    assert ran == []


def test_rejects_import_via_dunder_call_without_touching_the_filesystem(evaluator, tmp_path):
    target = tmp_path / "pwned"
    for source in (f"__import__('os').system('touch {target}')", f"open('{target}', 'w')",
                   f"[].__class__.__base__.__subclasses__()[0]('{target}')"):
        with pytest.raises(ExpressionRejected):
            evaluator.evaluate(source, {})
    assert not target.exists()


def test_rejection_messages_name_the_offending_part(evaluator):
    with pytest.raises(ExpressionRejected) as caught:
        evaluator.check_expression("amount.__class__")
    assert caught.value.message == "表达式不允许使用属性 '__class__'"
    assert caught.value.details == {"expression": "amount.__class__", "reason": "attribute",
                                    "name": "__class__", "line": 1}
    with pytest.raises(ExpressionRejected) as caught:
        evaluator.check_expression("eval('1')")
    assert "eval" in caught.value.message and caught.value.details["reason"] == "call"


def test_a_syntax_error_becomes_a_rejection_with_its_position(evaluator):
    with pytest.raises(ExpressionRejected) as caught:
        evaluator.evaluate("amount >\n", DATA)
    assert not isinstance(caught.value, SyntaxError)
    assert caught.value.details["reason"] == "syntax"
    assert caught.value.details["line"] == 1
    with pytest.raises(ExpressionRejected) as caught:
        evaluator.check_expression("a\x00b")
    assert caught.value.details["line"] == 1


def test_a_non_text_expression_is_rejected(evaluator):
    with pytest.raises(ExpressionRejected):
        evaluator.evaluate(None, {})  # type: ignore[arg-type]


def test_dunder_text_inside_string_constants_is_fine(evaluator):
    assert evaluator.evaluate("'__import__' + '__class__'", {}) == "__import____class__"


def test_huge_string_repetition_fails_at_runtime(evaluator):
    with pytest.raises(ExpressionFailed) as caught:
        evaluator.evaluate('"a" * 1000000000', {})
    assert caught.value.message == "表达式运算超出限制"
    assert caught.value.details["reason"] == "budget"


def test_nested_comprehensions_over_a_thousand_items_exhaust_the_budget(evaluator):
    with pytest.raises(ExpressionFailed) as caught:
        evaluator.evaluate("[1 for a in xs for b in xs for c in xs]", {"xs": list(range(1000))})
    assert caught.value.details["reason"] == "budget"


def test_a_small_comprehension_stays_within_the_budget(evaluator):
    assert evaluator.evaluate("sum([1 for i in big])", {"big": list(range(50))}) == 50


def test_the_iteration_limit_counts_items_pulled_through_loops():
    small = Evaluator(limits=Limits(max_iterations=10))
    assert small.evaluate("len([i for i in xs])", {"xs": list(range(10))}) == 10
    with pytest.raises(ExpressionFailed) as caught:
        small.evaluate("len([i for i in xs])", {"xs": list(range(11))})
    assert caught.value.details["limit"] == "max_iterations"


def test_the_deadline_is_checked_while_iterating():
    hurried = Evaluator(limits=Limits(max_seconds=0))
    with pytest.raises(ExpressionFailed) as caught:
        hurried.evaluate("[i for i in xs]", {"xs": list(range(5000))})
    assert caught.value.details["limit"] == "max_seconds"


@pytest.mark.parametrize("source", [
    "str([[0] * 100000] * 100000)",
    "[[0] * 100000] * 100000 == [[0] * 100000] * 100000",
    "('x' * 100000).join(['a', 'b', 'c'])",
    "'ab'.replace('', 'x' * 50000)",
    "[xs[:] for a in xs for b in xs[:40]]",
    "big * big * big",
    "'%0999999999d' % 1",
    "round(1, -100000000)",
    "sum([xs, xs], [])",
], ids=lambda source: source[:40])
def test_values_that_would_blow_up_time_or_memory_are_refused(evaluator, source):
    with pytest.raises(ExpressionFailed):
        evaluator.evaluate(source, {"xs": list(range(1000)), "big": 10 ** 3000})


def test_a_loop_doubling_a_tuple_cannot_make_hashing_explode(evaluator):
    names = {"xs": list(range(200)), "t": (0,)}
    with pytest.raises(ExpressionFailed) as caught:
        evaluator.execute("for i in xs:\n    t = (t, t)\n    seen = {t}", names)
    assert caught.value.details["reason"] == "budget"


def test_an_unknown_name_fails_and_names_the_variable(evaluator):
    with pytest.raises(ExpressionFailed) as caught:
        evaluator.evaluate("amount > 10", {})
    assert caught.value.message == "表达式引用了未定义的变量 'amount'"
    assert caught.value.details == {"expression": "amount > 10", "reason": "name", "name": "amount"}


def test_division_by_zero_fails_with_the_original_error_in_details(evaluator):
    with pytest.raises(ExpressionFailed) as caught:
        evaluator.evaluate("amount / 0", DATA)
    assert caught.value.details["reason"] == "zero_division"
    assert "division by zero" in caught.value.details["error"]


@pytest.mark.parametrize("source", ['amount + "x"', "needs[10]", 'form["nope"]', 'int("abc")', "needs.get(1)",
                                    'sorted([1, "a"])'])
def test_runtime_python_errors_never_escape_bare(evaluator, source):
    with pytest.raises(ExpressionFailed) as caught:
        evaluator.evaluate(source, DATA)
    assert caught.value.details["error"]


def test_data_names_starting_with_underscore_are_invisible(evaluator):
    with pytest.raises(ExpressionFailed):
        evaluator.evaluate("open", {"__builtins__": {"open": open}})
    hijack_called = []
    hijacked = {"__tb_mul__": lambda a, b: hijack_called.append(True), "xs": [1]}
    assert evaluator.evaluate("xs * 2", hijacked) == [1, 1]
    assert hijack_called == []


def test_a_data_value_named_len_does_not_shadow_the_function(evaluator):
    assert evaluator.evaluate("len(xs)", {"len": lambda value: 99, "xs": [1, 2]}) == 2


def test_a_generator_result_is_materialized_within_the_budget(evaluator):
    assert evaluator.evaluate("(v.upper() for v in needs)", DATA) == ["ENV", "FIRE"]


def test_a_script_assigns_computed_names_back_into_the_data(evaluator):
    names = {"amount": 100, "district": "yuzhong"}
    evaluator.execute("fee = amount * 2\nlabels = [d.upper() for d in [district]]\nfee += 1", names)
    assert names == {"amount": 100, "district": "yuzhong", "fee": 201, "labels": ["YUZHONG"]}


def test_a_script_supports_if_elif_else_and_tuple_assignment(evaluator):
    script = """
        if amount > 1000:
            level = "high"
        elif amount > 100:
            level = "mid"
        else:
            pass
        low, high = (1, [2, (3, 4)])
        """
    evaluator.check_script(script)
    names = {"amount": 500}
    evaluator.execute(script, names)
    assert names == {"amount": 500, "level": "mid", "low": 1, "high": [2, [3, 4]]}


def test_a_script_loop_accumulates_into_an_existing_total(evaluator):
    names = {"big": [1, 2, 3, 4], "total": 10}
    evaluator.execute("for i in big: total += i", names)
    assert names["total"] == 20


def test_augmented_assignment_never_mutates_a_data_list_in_place(evaluator):
    original = [1]
    names = {"items": original}
    evaluator.execute("items += [2]", names)
    assert names["items"] == [1, 2]
    assert original == [1]


@pytest.mark.parametrize("script", [
    "import os",
    "from os import system",
    "x.y = 1",
    "x[0] = 1",
    "while True: pass",
    "def f(): pass",
    "class C: pass",
    "try:\n    pass\nexcept Exception:\n    pass",
    "with x: pass",
    "raise ValueError()",
    "global x",
    "del x",
    "return 1",
    "assert x",
    "items.append(1)",
    "x",
    "len = 1",
    "for x.y in xs: pass",
    "x **= 2",
    "_hidden = 1",
])
def test_a_script_with_a_forbidden_statement_is_rejected(evaluator, script):
    names = {"x": 1, "xs": [1], "items": []}
    with pytest.raises(ExpressionRejected):
        evaluator.execute(script, names)
    assert names == {"x": 1, "xs": [1], "items": []}
    with pytest.raises(ExpressionRejected):
        evaluator.check_script(script)


def test_a_script_assigning_a_non_json_value_fails_and_writes_nothing(evaluator):
    names = {"amount": 1}
    with pytest.raises(ExpressionFailed) as caught:
        evaluator.execute("fee = 2\nf = len", names)
    assert caught.value.details["reason"] == "value"
    assert caught.value.details["name"] == "f"
    assert names == {"amount": 1}


def test_a_script_failing_midway_writes_nothing(evaluator):
    names = {"amount": 1}
    with pytest.raises(ExpressionFailed):
        evaluator.execute("fee = 2\nother = amount / 0", names)
    assert names == {"amount": 1}


def test_names_used_lists_free_variables_without_functions(evaluator):
    assert evaluator.names_used("amount > limit and len(xs) > 0") == {"amount", "limit", "xs"}


def test_names_used_excludes_comprehension_variables_but_not_a_later_same_name(evaluator):
    assert evaluator.names_used('len([v for v in votes if v == "approve"]) >= quorum') == {"votes", "quorum"}
    assert evaluator.names_used("[x for x in xs] + [x]") == {"xs", "x"}
    assert evaluator.names_used("{k: w for k in ks for w in table.get(k)}") == {"ks", "table"}


def test_names_used_of_a_script_lists_what_it_reads_before_assigning(evaluator):
    assert evaluator.names_used("fee = amount * 2\nfee += 1\nfor i in big: total += i") == {
        "amount", "big", "total"}


def test_names_used_rejects_what_the_evaluator_would_reject(evaluator):
    with pytest.raises(ExpressionRejected):
        evaluator.names_used("amount.__class__")


def test_compiled_expressions_are_cached(evaluator):
    source = "amount > 123456 and district == 'cache-test'"
    evaluator.evaluate(source, DATA)
    before = expressions._compile.cache_info()
    for _ in range(5):
        evaluator.evaluate(source, DATA)
    after = expressions._compile.cache_info()
    assert after.misses == before.misses
    assert after.hits == before.hits + 5


@pytest.mark.parametrize("source", ["x = str(value_of)", "x = str(len)", "x = str([1, {'a': sorted}])",
                                    "x = sorted([value_of, sorted], key=str)"])
def test_a_function_never_becomes_text(evaluator, source):
    """A function prints as its memory address: data that would differ from process to process (and on replay)."""
    names: dict = {}
    with pytest.raises(ExpressionFailed, match="不能用于函数"):
        evaluator.execute(source, names)
    assert names == {}
    evaluator.execute("x = str([1, 'a', None])", names)
    assert names == {"x": "[1, 'a', None]"}
