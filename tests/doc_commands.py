"""The `loralens` commands the README and the docs show, as a reader would type them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

SHELL = (">", ">>", "|", "&&", ";")  # where a shell line's `loralens` command ends


def page_commands(page: Path) -> list[str]:
    """Each `loralens ...` line of the page's bash blocks, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip().startswith("loralens ")]


def command_argv(command: str, placeholders: dict[str, str]) -> list[str]:
    """The command's arguments with its placeholders filled in, comments and redirection cut."""
    for word, stand_in in placeholders.items():
        command = command.replace(word, stand_in)
    words = shlex.split(command, comments=True)
    end = next((i for i, w in enumerate(words) if w in SHELL), len(words))
    return words[1:end]
