"""Render a study's results.json as report.html, report.md, tables.tex and figures/*.png.

Pure parts: `figures` (results -> matplotlib figures), `tables` (results -> tables of formatted
cells), `content` (results -> a `Document`), `html`, `markdown` and `latex` (renderers). The
only I/O is `write_report`. Nothing here recomputes a statistic: numbers are rendered as stored.
"""

from loralens.report.write import ReportError, read_results, render_all, write_report

__all__ = ["ReportError", "read_results", "render_all", "write_report"]
