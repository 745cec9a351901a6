"""The commands the README and the docs site show are commands loralens accepts."""

import re
from pathlib import Path

import pytest
import yaml

from loralens.cli import build_parser, main
from loralens.cli_args import BUILTIN_CONFIGS, parse_command_line, split_config_args
from loralens.config import load_config
from tests.conftest import REPO
from tests.doc_commands import command_argv, page_commands

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
# Words a page writes for what the reader supplies, and what stands in for them here.
PLACEHOLDERS = {"STUDY": "quickstart", "HOST:6379": "127.0.0.1:6379", "…": ""}


COMMANDS = [(p.relative_to(REPO).as_posix(), c) for p in PAGES for c in page_commands(p)]


def test_the_guides_show_commands() -> None:
    pages = {page for page, _ in COMMANDS}
    for guide in sorted((REPO / "docs" / "guides").glob("*.md")):
        assert guide.relative_to(REPO).as_posix() in pages, f"{guide.name} shows no command"


@pytest.mark.parametrize(("page", "command"), COMMANDS)
def test_each_documented_command_parses_and_its_config_validates(page: str, command: str) -> None:
    args = parse_command_line(build_parser(), command_argv(command, PLACEHOLDERS))
    items = getattr(args, "items", None)
    if items is None or args.command in ("sanity",):
        return
    name, overrides = split_config_args(items)
    builtin = BUILTIN_CONFIGS / f"{name or 'quickstart'}.yaml"
    if not builtin.is_file():
        return  # the reader's own file
    load_config(builtin, [o for o in overrides if "my-task/" not in o])


def test_the_own_task_guide_task_file_reads(tmp_path: Path, capsys) -> None:
    guide = (REPO / "docs" / "guides" / "own-task.md").read_text()
    task = yaml.safe_load(re.search(r"```yaml\n(.*?)```", guide, flags=re.S).group(1))
    rows = ["review,stars"] + [
        f'"{"a great film" if i % 2 else "a waste of time"}, scene {i}",{"pos" if i % 2 else "neg"}'
        for i in range(60)
    ]
    (tmp_path / "reviews.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "reviews.yaml").write_text(yaml.safe_dump(task))
    assert main(["data", "stats", str(tmp_path / "reviews.yaml"), "--model", "none"]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "neg" in out and "pos" in out
