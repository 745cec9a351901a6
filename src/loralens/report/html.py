"""The report as one self-contained HTML file: inline CSS, figures as base64 PNG, no scripts."""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from html import escape

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

# Nothing may load from outside the file: the policy makes a stray reference fail loudly.
NOWRAP_CHARS = 24
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSS = """
:root { --ink: #1d2330; --muted: #5b6372; --line: #e3e6eb; --bg: #ffffff; --soft: #f6f7f9;
  --blue: #0072B2; --green: #007a5a; --green-bg: #e5f4ee; --red: #b34400; --red-bg: #fcebe1;
  --amber: #8a5a00; --amber-bg: #fdf3dc; }
* { box-sizing: border-box; }
html { background: var(--soft); }
body { margin: 0; color: var(--ink); font: 15px/1.55 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", "Liberation Sans", Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 32px 40px 48px; background: var(--bg);
  min-height: 100vh; }
header .eyebrow { margin: 0; color: var(--blue); font-size: 12px; font-weight: 700;
  letter-spacing: .08em; text-transform: uppercase; }
h1 { font-size: 28px; line-height: 1.2; margin: 4px 0 6px; }
.subtitle { color: var(--muted); margin: 0 0 18px; }
h2 { font-size: 21px; margin: 40px 0 10px; padding-bottom: 6px;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 28px 0 8px; }
nav.toc { font-size: 13px; color: var(--muted); margin-bottom: 20px; }
nav.toc a { color: var(--blue); text-decoration: none; margin-right: 14px; white-space: nowrap; }
.callout { border-radius: 8px; padding: 14px 18px; margin: 14px 0; border-left: 5px solid; }
.callout h2 { font-size: 16px; margin: 0 0 6px; padding: 0; border: 0; }
.callout ul { margin: 0; padding-left: 20px; }
.callout li { margin: 3px 0; }
.callout.summary { background: #eaf3fa; border-color: var(--blue); }
.callout.caveat { background: var(--amber-bg); border-color: #E69F00; }
.callout.caveat h2::before { content: "\\26A0\\FE0E  "; }
.missing { color: var(--amber); background: var(--amber-bg); border-radius: 6px;
  padding: 8px 12px; font-size: 14px; }
.table-wrap { overflow-x: auto; margin: 14px 0 18px; }
table { border-collapse: collapse; font-size: 13px; width: 100%;
  font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 700; font-size: 14px;
  padding-bottom: 6px; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { text-align: left; border-bottom: 2px solid #c9ced6; font-weight: 600; white-space: nowrap; }
td.r, th.r { text-align: right; white-space: nowrap; }
td.nw { white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
.note { font-size: 12px; color: var(--muted); margin: 6px 0 0; }
figure { margin: 18px 0 26px; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 6px; }
.verdict { border: 1px solid var(--line); border-left: 5px solid; border-radius: 8px;
  padding: 12px 16px; margin: 14px 0; }
.verdict .head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.verdict h3, .verdict h4 { margin: 0; font-size: 16px; }
.badge { font-size: 12px; font-weight: 700; border-radius: 999px; padding: 2px 10px;
  white-space: nowrap; }
.supported { border-left-color: var(--green); }
.supported .badge, .badge.supported { background: var(--green-bg); color: var(--green); }
.not-supported { border-left-color: var(--red); }
.not-supported .badge, .badge.not-supported { background: var(--red-bg); color: var(--red); }
.inconclusive { border-left-color: #8d8d8d; }
.inconclusive .badge, .badge.inconclusive { background: #eeeeee; color: #4a4a4a; }
.not-applicable { border-left-color: #b07d00; }
.not-applicable .badge, .badge.not-applicable { background: #fff4d6; color: #7a5600; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  gap: 6px 16px; margin: 10px 0 6px; }
dl.facts div { min-width: 0; }
dt { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
dd { margin: 0; font-size: 14px; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.sentence { font-size: 13px; color: var(--muted); margin: 6px 0 0; }
.verdict .verdict { margin: 10px 0 0; }
.chips { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 10px; }
.chips .badge { font-size: 13px; padding: 3px 12px; border: 1px solid currentColor; }
dl.pairs { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr));
  gap: 0 32px; margin: 10px 0 16px; }
dl.pairs div { display: flex; justify-content: space-between; gap: 16px; padding: 5px 0;
  border-bottom: 1px solid var(--line); }
dl.pairs dt { font-size: 13px; color: var(--muted); text-transform: none; letter-spacing: 0; }
dl.pairs dd { font-size: 13px; text-align: right; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--line);
  padding-top: 10px; }
@media print { html { background: none; } main { padding: 0; } }
"""


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    return struct.unpack(">II", png[16:24])


def _pairs(t: Table) -> str:
    """A key/value table as a compact grid of pairs."""
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v, *_ in t.rows)
    title = f"<h4>{escape(t.title)}</h4>" if t.title else ""
    return f'{title}<dl class="pairs" id="table-{escape(t.key)}">{items}</dl>'


def _cell(cls: str, value: str) -> str:
    """One table cell; short values never wrap (long notes may)."""
    nowrap = " nw" if len(value) <= NOWRAP_CHARS else ""
    return f'<td class="{cls}{nowrap}">{escape(value)}</td>'


def _table(t: Table) -> str:
    """A table (or a grid of pairs) with its caption and note."""
    if t.pairs:
        return _pairs(t)
    align = t.alignment()
    cls = ["r" if i < len(align) and align[i] == "r" else "" for i in range(len(t.columns))]
    head = "".join(f'<th class="{c}">{escape(h)}</th>' for c, h in zip(cls, t.columns, strict=True))
    body = "".join(
        "<tr>" + "".join(_cell(c, v) for c, v in zip(cls, row, strict=False)) + "</tr>"
        for row in t.rows
    )
    note = f'<p class="note">{escape(t.note)}</p>' if t.note else ""
    return (
        f'<div class="table-wrap" id="table-{escape(t.key)}"><table><caption>{escape(t.title)}'
        f"</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>"
    )


def _figure(f: FigureRef, number: int, images: Mapping[str, bytes]) -> str:
    """A numbered figure with the PNG embedded as base64."""
    png = images[f.key]
    width, height = _png_size(png)
    # Shown at 120 CSS px per inch of the 150 dpi image (sharp on dense screens), at most 900 px.
    w = min(round(width / 1.25), 900)
    h = round(height * w / width)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="fig-{escape(f.key)}"><img src="data:image/png;base64,{data}" '
        f'width="{w}" height="{h}" alt="{escape(f.caption)}">'
        f"<figcaption><b>Figure {number}.</b> {escape(f.caption)}</figcaption></figure>"
    )


def _verdict(v: VerdictCard, level: int = 3) -> str:
    """A verdict card with its status badge, numbers, sentence and parts."""
    cls = v.status.replace(" ", "-")
    facts = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(x)}</dd></div>" for k, x in v.facts)
    parts = "".join(_verdict(p, 4) for p in v.parts)
    badge = f'<span class="badge">{SYMBOLS[v.status]} {escape(v.status)}</span>'
    return (
        f'<div class="verdict {cls}"><div class="head">{badge}<h{level}>{escape(v.name)}'
        f'</h{level}></div><dl class="facts">{facts}</dl>'
        f'<p class="sentence">{escape(v.sentence)}</p>{parts}</div>'
    )


def _block(b: Block, images: Mapping[str, bytes], counter: list[int]) -> str:
    """One block as HTML."""
    if isinstance(b, Paragraph):
        lead = f"<b>{escape(b.lead)}</b>" if b.lead else ""
        return f"<p>{lead}{escape(b.text)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Missing):
        return f'<p class="missing">{escape(b.text)}</p>'
    if isinstance(b, Callout):
        items = "".join(f"<li>{escape(i)}</li>" for i in b.items)
        chips = "".join(
            f'<span class="badge {s.replace(" ", "-")}">{SYMBOLS[s]} {escape(k)}: '
            f"{escape(s)}</span>"
            for k, s in b.chips
        )
        chips = f'<div class="chips">{chips}</div>' if chips else ""
        ident = "summary" if b.kind == "summary" else "caveats"
        return (
            f'<section class="callout {b.kind}" id="{ident}"><h2>{escape(b.title)}</h2>'
            f"{chips}<ul>{items}</ul></section>"
        )
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, FigureRef):
        counter[0] += 1
        return _figure(b, counter[0], images)
    return _verdict(b)


def _section(s: Section, images: Mapping[str, bytes], counter: list[int], level: int = 2) -> str:
    """A section and its subsections as HTML."""
    body = "".join(_block(b, images, counter) for b in s.blocks)
    subs = "".join(_section(x, images, counter, level + 1) for x in s.subsections)
    return (
        f'<section id="{escape(s.id)}"><h{level}>{escape(s.title)}</h{level}>{body}{subs}</section>'
    )


def render_html(doc: Document, images: Mapping[str, bytes], footer: str = "") -> str:
    """The document as a standalone HTML page with `images` (PNG bytes by key) embedded."""
    counter = [0]
    toc = "".join(
        f'<a href="#{escape(s.id)}">{escape(s.title)}</a>'
        for s in (Section("summary", "Summary"), Section("caveats", "Caveats"), *doc.sections)
    )
    lead = "".join(_block(b, images, counter) for b in doc.lead)
    sections = "".join(_section(s, images, counter) for s in doc.sections)
    foot = f"<footer>{escape(footer)}</footer>" if footer else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{escape(doc.title)}</title><style>{CSS}</style></head><body><main>"
        f'<header><p class="eyebrow">loralens · study report</p><h1>{escape(doc.title)}</h1>'
        f'<p class="subtitle">{escape(doc.subtitle)}</p></header>'
        f'<nav class="toc">{toc}</nav>{lead}{sections}{foot}</main></body></html>\n'
    )
