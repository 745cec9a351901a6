"""Closest-name suggestions for unknown registry names."""

import difflib
import re
from collections.abc import Iterable


def unknown_name_message(kind: str, name: str, known: Iterable[str]) -> str:
    """Return "unknown KIND 'name'; did you mean 'x'? Known: a, b" (or "'name'. Known: a, b")."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else "."
    return f"unknown {kind} '{name}'{hint} Known: {', '.join(known)}"


# Names that become folder and file names (variants, declared tasks): one path component.
NAME_RULE = "letters, digits, '.', '_', '+' and '-', starting with a letter or digit, ≤ 100"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


def name_problem(kind: str, name: str) -> str | None:
    """Why `name` cannot name a `kind` (it becomes a folder or file name), or None."""
    if _NAME.fullmatch(name):
        return None
    return f"{kind} name {name!r} is not a plain name: use {NAME_RULE}"
