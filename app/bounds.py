"""The integers a request may carry: none wider than the column it will be compared with.

Row ids are 64-bit (``BigId``: BIGINT on PostgreSQL, INTEGER on SQLite): at most :data:`BIGINT_MAX`. Versions,
revisions and event numbers are ``Integer`` columns, 32-bit on PostgreSQL: at most :data:`INTEGER_MAX`. A wider
Python int that reaches a query fails inside the driver (``OverflowError`` on SQLite past 64 bits,
``NumericValueOutOfRange`` on PostgreSQL past the column's width): a 500 for what is only bad input. So the HTTP
layer bounds every integer it reads, here and once:

* ``<int:...>`` in a URL rule is :class:`IdConverter` (:func:`install` makes it Flask's ``int`` converter): past
  :data:`BIGINT_MAX` the URL matches no rule, so it is a 404 like ``/cases/-1`` or an id that does not exist
  (JSON ``NOT_FOUND`` under ``/api``, the 404 page elsewhere). Path integers are ids; the one that is not (an
  event number, ``.../history/<int:seq>``) is checked against the case's event count before any query;
* an integer of a query or body schema is a :class:`DbInt` (a version, revision, event number: 32-bit) or a
  :class:`DbId` (a row id: 64-bit); out of range it is a 422 ``INVALID_INPUT`` whose field message gives the
  range (``应在 1 到 2147483647 之间``);
* a case named by id or 办件编号 in a query or body is checked by :func:`case_ref`;
* ``request.args.get(name, type=int)`` (what the pages read by hand: a version, a draft, an event number, a page)
  answers 404 for a number past :data:`INTEGER_MAX` either way (:class:`BoundedArgs`): no such version, event or
  page exists, as ``?version=999`` does not.
"""
from __future__ import annotations

import builtins
import re
from typing import Any, Callable

from flask import Flask, Request
from marshmallow import ValidationError, fields
from marshmallow.validate import Range
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map

BIGINT_MAX = 2 ** 63 - 1
"""The largest row id: ``BigId`` keys are BIGINT on PostgreSQL and INTEGER (64-bit) on SQLite."""
INTEGER_MAX = 2 ** 31 - 1
"""The largest version, revision or event number: ``Integer`` columns are 32-bit on PostgreSQL."""
_NUMBER = re.compile(r"\s*[+-]?[0-9]+\s*")


class IdConverter(IntegerConverter):
    """werkzeug's ``int`` converter whose largest value is :data:`BIGINT_MAX` (a smaller ``max`` is kept)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        high = BIGINT_MAX if max is None else builtins.min(max, BIGINT_MAX)
        low = -BIGINT_MAX - 1 if min is None and signed else min
        super().__init__(map, fixed_digits=fixed_digits, min=low, max=high, signed=signed)


class DbInt(fields.Integer):
    """An integer of a request schema compared with an ``Integer`` column: a version, revision or event number.

    It must lie in ``min .. max``: ``min`` defaults to 1 (versions and revisions start at 1), ``max`` to the
    column's largest value, :data:`INTEGER_MAX`, and is never more. Other validators (``validate=``) run too.
    """

    LARGEST = INTEGER_MAX

    def __init__(self, *, min: int | None = 1, max: int | None = None,  # named as validate.Range names them
                 validate: Any = None, **kwargs: Any) -> None:
        low = -self.LARGEST - 1 if min is None else builtins.max(min, -self.LARGEST - 1)
        high = self.LARGEST if max is None else builtins.min(max, self.LARGEST)
        others = [] if validate is None else [validate] if callable(validate) else list(validate)
        super().__init__(validate=[Range(min=low, max=high), *others], **kwargs)


class DbId(DbInt):
    """A row id of a request schema (a task, a case, a draft): 1 to :data:`BIGINT_MAX`."""

    LARGEST = BIGINT_MAX


def case_ref(value: Any) -> None:
    """Validate a case named by its id or its 办件编号: a ref of digits must be an id a row can have.

    The engine reads a ref of digits as an id (``str.isdigit``) and anything else as a 办件编号 (``TB...``).
    """
    text = str(value)
    if text.isdigit() and not (text.isascii() and _fits(text, BIGINT_MAX)):
        raise ValidationError(f"办件 id 应为不大于 {BIGINT_MAX} 的整数")


def _fits(digits: str, largest: int) -> bool:
    """Whether ASCII ``digits`` are at most ``largest``, without parsing thousands of them."""
    digits = digits.lstrip("0") or "0"
    return len(digits) <= len(str(largest)) and int(digits) <= largest


def bounded_int(value: Any) -> int:
    """``int(value)``, or 404 when the number is past :data:`INTEGER_MAX` either way (see :class:`BoundedArgs`)."""
    try:
        number = int(value)
    except ValueError:
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            raise NotFound() from None  # a number past Python's limit on digits (4300): far past the bound
        raise
    if not -INTEGER_MAX - 1 <= number <= INTEGER_MAX:
        raise NotFound()
    return number


class BoundedArgs(ImmutableMultiDict):  # type: ignore[type-arg]
    """Query and form parameters whose ``get(..., type=int)`` and ``getlist(..., type=int)`` use :func:`bounded_int`.

    A value that is not a number still gives the default (werkzeug's contract); a number too wide for the
    column it names is a 404 rather than a 500 from the database. The bound is the narrower one, a version's:
    the pages read versions, event numbers and page numbers this way, and draft ids (which never reach 2**31).
    """

    def get(self, key: Any, default: Any = None, type: Callable[[Any], Any] | None = None) -> Any:
        return super().get(key, default, bounded_int if type is int else type)

    def getlist(self, key: Any, type: Callable[[Any], Any] | None = None) -> Any:
        return super().getlist(key, bounded_int if type is int else type)


class BoundedRequest(Request):
    """Flask's request with :class:`BoundedArgs` for ``args`` and ``form``."""

    parameter_storage_class = BoundedArgs


def install(app: Flask) -> None:
    """Bound the app's integers; call it before any URL rule is added, so each ``<int:...>`` is an IdConverter."""
    app.url_map.converters["int"] = IdConverter
    app.request_class = BoundedRequest
