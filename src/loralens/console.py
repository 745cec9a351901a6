"""Terminal rendering of command results (rich tables) and JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def print_json(data: Any) -> None:
    """Write data as indented JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Render a simple table."""
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)


def print_task_stats(stats: dict) -> None:
    """Human-readable `data stats` output."""
    console.print(f"[bold]{stats['task']}[/bold] from {stats['origin']}")
    labels = stats["label_names"]
    has_len = "token_length" in stats["splits"]["train"]
    cols = ["split", "size", *labels] + (["tokens p50/p95/max"] if has_len else [])
    rows = []
    for name, s in stats["splits"].items():
        row = [name, s["size"], *(s["labels"][lab] for lab in labels)]
        if has_len:
            q = s["token_length"]
            row.append(f"{q['p50']:.0f}/{q['p95']:.0f}/{q['p100']:.0f}")
        rows.append(row)
    print_table("splits", cols, rows)
    console.print(f"duplicates removed from the training side: {stats['duplicates_removed']}")
    for note in stats["notes"]:
        console.print(f"note: {note}")
    for ex in stats["examples"]:
        console.print(f"  ({ex['label']}) {ex['input'][:120]!r}", markup=False)
