"""Numbers sent by anyone (in a path, a query string or a form): ASCII digits within a range, else None.

Neither ``str.isdigit()`` nor ``int()`` is a check: ``'²'.isdigit()`` is True and ``int('²')`` fails;
``int('١٢')`` reads Arabic-Indic digits as 12; ``int(' 1')`` and ``int('1_0')`` succeed; and SQLite refuses
an integer past 2**63 with an OverflowError. Every id and every typed number goes through here first, so
none of these reaches a query, and the caller turns ``None`` into "not found" or a message.
"""

from __future__ import annotations

import re

_ID = re.compile(r"[0-9]{1,12}")
MAX_ID = 10**12 - 1
_NUMBER = re.compile(r"-?[0-9]{1,15}")


def to_id(raw: object) -> int | None:
    """A row id as a link or a form sends it: 1–12 ASCII digits and nothing else (no sign, space or '+')."""
    if not isinstance(raw, str) or not _ID.fullmatch(raw):
        return None
    return int(raw)


def to_int(raw: object, low: int, high: int) -> int | None:
    """A number a person typed (a day, a year, a rating, a count, a page): ASCII digits with an optional
    minus sign, spaces around it forgiven, and within ``low``..``high``; None otherwise."""
    if not isinstance(raw, str):
        return None
    text = raw.strip(" \t")
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def is_digits(raw: object, length: int | None = None) -> bool:
    """Only ASCII digits (``str.isdigit`` also says yes to '²' and '١'), optionally exactly ``length`` of them."""
    return isinstance(raw, str) and raw.isascii() and raw.isdigit() and (length is None or len(raw) == length)
