"""The report as plain data: sections of blocks that the HTML and Markdown renderers walk.

Every string here is plain text (never markup); each renderer escapes it for its format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["supported", "not supported", "inconclusive", "not applicable"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph, optionally led by a bold phrase."""

    text: str
    lead: str = ""


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Missing:
    """A statement that some data is not available, and why it matters."""

    text: str


@dataclass(frozen=True)
class Callout:
    """A highlighted box: the summary ('summary') or the caveats ('caveat')."""

    kind: Literal["summary", "caveat"]
    title: str
    items: tuple[str, ...]
    chips: tuple[tuple[str, str], ...] = ()  # (label, status) badges shown above the items


@dataclass(frozen=True)
class Table:
    """A table of formatted cells; `align` holds 'l' or 'r' per column.

    `pairs` marks a two-column key/value table that HTML may lay out as a compact grid.
    """

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str = ""
    note: str = ""
    pairs: bool = False

    def alignment(self) -> str:
        """Per-column alignment, first column left and the rest right unless given."""
        return self.align or "l" + "r" * (len(self.columns) - 1)


@dataclass(frozen=True)
class FigureRef:
    """A figure of the report (its PNG is `figures/<key>.png`)."""

    key: str
    caption: str


@dataclass(frozen=True)
class VerdictCard:
    """One hypothesis verdict: status, the numbers behind it and its sentence."""

    name: str
    status: Status
    facts: tuple[tuple[str, str], ...]
    sentence: str
    parts: tuple[VerdictCard, ...] = ()


Block = Paragraph | Bullets | Missing | Callout | Table | FigureRef | VerdictCard


@dataclass(frozen=True)
class Section:
    """A titled section (level 2) with blocks and optional subsections (level 3)."""

    id: str
    title: str
    blocks: tuple[Block, ...] = ()
    subsections: tuple[Section, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Document:
    """The whole report: title, one-line subtitle, lead callouts and sections."""

    title: str
    subtitle: str
    lead: tuple[Block, ...]
    sections: tuple[Section, ...]
