"""The report as Markdown (GitHub flavour), figures as relative links to figures/*.png."""

from __future__ import annotations

from loralens.report.document import (
    Block,
    Bullets,
    Callout,
    Document,
    FigureRef,
    Missing,
    Paragraph,
    Section,
    Table,
    VerdictCard,
)
from loralens.report.verdicts import SYMBOLS

_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|"})


def md_escape(text: str) -> str:
    """Text with Markdown's inline specials escaped and line breaks flattened."""
    return " ".join(str(text).split()).translate(_SPECIAL)


def _table(t: Table) -> str:
    """A GitHub-flavoured table with its title and note."""
    align = t.alignment()
    rule = ["---:" if i < len(align) and align[i] == "r" else ":---" for i in range(len(t.columns))]
    lines = [
        *([f"**{md_escape(t.title)}**", ""] if t.title else []),
        "| " + " | ".join(map(md_escape, t.columns)) + " |",
        "| " + " | ".join(rule) + " |",
    ]
    lines += ["| " + " | ".join(md_escape(v) for v in row) + " |" for row in t.rows]
    if t.note:
        lines += ["", f"*{md_escape(t.note)}*"]
    return "\n".join(lines)


def _verdict(v: VerdictCard, level: int = 4) -> str:
    """A verdict as a heading, a list of numbers and its sentence."""
    head = f"{'#' * level} {SYMBOLS[v.status]} {v.status.upper()}: {md_escape(v.name)}"
    facts = "\n".join(f"- **{md_escape(k)}:** {md_escape(x)}" for k, x in v.facts)
    parts = "".join("\n\n" + _verdict(p, level + 1) for p in v.parts)
    sentence = f"\n\n> {md_escape(v.sentence)}" if v.sentence else ""
    return f"{head}\n\n{facts}{sentence}{parts}"


def _block(b: Block, counter: list[int]) -> str:
    """One block as Markdown."""
    if isinstance(b, Paragraph):
        return (f"**{md_escape(b.lead.strip())}** " if b.lead else "") + md_escape(b.text)
    if isinstance(b, Bullets):
        return "\n".join(f"- {md_escape(i)}" for i in b.items)
    if isinstance(b, Missing):
        return f"> *{md_escape(b.text)}*"
    if isinstance(b, Callout):
        icon = "⚠ " if b.kind == "caveat" else ""
        items = "\n".join(f"> - {md_escape(i)}" for i in b.items)
        chips = " · ".join(f"{SYMBOLS[s]} {md_escape(k)}: **{s}**" for k, s in b.chips)
        chips = f"> {chips}\n>\n" if chips else ""
        return f"> **{icon}{md_escape(b.title)}**\n>\n{chips}{items}"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, FigureRef):
        counter[0] += 1
        return (
            f"![{md_escape(b.caption)}](figures/{b.key}.png)\n\n"
            f"*Figure {counter[0]}. {md_escape(b.caption)}*"
        )
    return _verdict(b)


def _section(s: Section, counter: list[int], level: int = 2) -> list[str]:
    """A section and its subsections as Markdown lines."""
    out = [f"{'#' * level} {md_escape(s.title)}"]
    out += [_block(b, counter) for b in s.blocks]
    for sub in s.subsections:
        out += _section(sub, counter, level + 1)
    return out


def render_markdown(doc: Document, footer: str = "") -> str:
    """The document as Markdown."""
    counter = [0]
    parts = [f"# {md_escape(doc.title)}", f"*{md_escape(doc.subtitle)}*"]
    parts += [_block(b, counter) for b in doc.lead]
    for s in doc.sections:
        parts += _section(s, counter)
    if footer:
        parts += ["---", f"*{md_escape(footer)}*"]
    return "\n\n".join(parts) + "\n"
