"""Terminal rendering of command results (rich tables) and JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console()

# Widest the first column of a table is kept whole (longer names are still cut).
KEY_WIDTH = 48


def print_json(data: Any) -> None:
    """Write data as indented JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Render a simple table; the first column (the row's name) is never cut short.

    Rich shrinks columns with an ellipsis to fit the terminal (80 columns when piped), which
    would turn names such as task names or module paths into "rotten_tomat…"; the first column
    keeps its full width (up to KEY_WIDTH) and the other columns give way instead. Cells are
    plain text, never rich markup.
    """
    cells = [[str(v) for v in row] for row in rows]
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        if i == 0:
            width = max([len(col), *(len(r[0]) for r in cells if r)])
            table.add_column(col, no_wrap=True, min_width=min(width, KEY_WIDTH))
        else:
            table.add_column(col)
    for row in cells:
        # Text, not markup: a value such as "[q_proj]" or an error message must print as given.
        table.add_row(*(Text(c) for c in row))
    console.print(table)


def print_task_stats(stats: dict) -> None:
    """Human-readable `data stats` output."""
    console.print(f"[bold]{stats['task']}[/bold] from {stats['origin']}")
    labels = stats["label_names"]
    has_len = "token_length" in stats["splits"]["train"]
    qa = "answerable" in stats["splits"]["train"]
    cols = ["split", "size", *labels, *(["answerable"] if qa else [])]
    cols += ["tokens p50/p95/max"] if has_len else []
    rows = []
    for name, s in stats["splits"].items():
        row = [name, s["size"], *(s["labels"][lab] for lab in labels)]
        row += [s["answerable"]] if qa else []
        if has_len:
            q = s["token_length"]
            row.append(f"{q['p50']:.0f}/{q['p95']:.0f}/{q['p100']:.0f}")
        rows.append(row)
    print_table("splits", cols, rows)
    console.print(f"duplicates removed from the training side: {stats['duplicates_removed']}")
    for name, c in (stats.get("cut") or {}).items():
        console.print(
            f"{name}: {c['cut']} of {c['examples']} inputs cut to {stats['max_length']} tokens "
            f"(their first fields first; {c['emptied']} lost a whole field)"
        )
    for note in stats["notes"]:
        console.print(f"note: {note}")
    for ex in stats["examples"]:
        answers = ex.get("answers")
        shown = ex["label"] if answers is None else " | ".join(answers) or "unanswerable"
        console.print(f"  ({shown}) {ex['input'][:120]!r}", markup=False)
