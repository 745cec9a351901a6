"""Closest-name suggestions for unknown registry names."""

import difflib
from collections.abc import Iterable


def unknown_name_message(kind: str, name: str, known: Iterable[str]) -> str:
    """Return "unknown KIND 'name'; did you mean 'x'? Known: a, b" (or "'name'. Known: a, b")."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else "."
    return f"unknown {kind} '{name}'{hint} Known: {', '.join(known)}"
