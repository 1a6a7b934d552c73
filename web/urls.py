"""Addresses taken from a request and put back into a page, checked so they stay on this site."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

#: Control, format (zero-width, direction marks) and space characters, which browsers strip or
#: skip in a URL: ``/\t/evil.example`` is read as ``//evil.example``, another host.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def _unsafe(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in _UNSAFE_CATEGORIES


def safe_back(value: str) -> str:
    """``value`` when it is a path on this site, otherwise ``"/"``: it must start with a single
    ``/``, hold no backslash and no control, format or space character (checked also with its
    percent-escapes decoded once, so ``%09`` and ``%5C`` count), and must not start with ``//``
    once such characters are left out (a browser would go to another host)."""
    for text in (value, unquote(value)):
        visible = "".join(char for char in text if not _unsafe(char))
        if (not text.startswith("/") or visible.startswith("//") or "\\" in text
                or any(_unsafe(char) for char in text)):
            return "/"
    return value
