"""The docs site's reference pages are generated from the parser and the config models."""

import pytest

from loralens.cli import build_parser
from loralens.docs_reference import PAGES, cli_markdown, config_markdown
from tests.conftest import REPO


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_reference_page_is_current(page: str) -> None:
    doc = (REPO / "docs" / "reference" / f"{page}.md").read_text()
    assert doc == PAGES[page](), (
        f"regenerate: python -m loralens.docs_reference {page} > docs/reference/{page}.md"
    )


def test_every_flag_of_every_command_is_in_the_cli_page() -> None:
    doc = cli_markdown()
    for flag in ("--executor", "--workers", "--address", "--repeat", "--engines", "--sink-ratio"):
        assert f"`{flag}`" in doc
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in commands:
        assert f"## `loralens {name}" in doc


def test_every_config_key_has_a_row_with_its_default_and_bounds() -> None:
    doc = config_markdown()
    assert "| `training.learning_rate` | float | `0.0002` | > 0 |" in doc
    assert "| `serving.vllm.concurrency` | list[int] | `[1, 2, 4, 8, 16]` |" in doc
    assert "closed-loop levels" in doc  # a field's source comment is its description
    assert "| `hpo.trials` | int | `8` | ≥ 1 | trials per task and method" in doc


def test_every_command_has_an_example_under_its_help() -> None:
    from loralens.cli_examples import EXAMPLES
    from loralens.docs_reference import _walk

    sections = list(_walk(build_parser(), "loralens"))
    assert len(sections) == len(EXAMPLES)
    for section in sections:
        assert "```bash" in section, section[0]
