"""The domain's refusals are read by mediators on the web as well as at the command line: they
name what is missing in plain words, never a command-line option; the command line adds its
options after the sentence (`nodes.cli.flag_hints`), by the refusal's code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nodes import i18n
from nodes.cli.flag_hints import FLAGS, with_flags
from nodes.domain.case import DomainError
from nodes.i18n import render

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "nodes/domain").glob("*.py")), ROOT / "nodes/service.py",
           ROOT / "nodes/outbound.py"]


def messages(path: Path) -> list[str]:
    """Every catalogue message id marked with N_ in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "N_" and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_domain_sentences_name_no_command_line_option(path: Path) -> None:
    flagged = [m for m in messages(path) if "--" in m or "refer-out" in m]
    assert flagged == []


def test_every_hinted_code_is_a_code_the_domain_raises() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in SOURCES)
    assert [c for c in FLAGS if f'"{c}"' not in text] == []


def test_the_command_line_adds_its_options_after_the_sentence() -> None:
    error = DomainError("correct_reason", "a correction needs a reason")
    with i18n.language("en"):
        assert with_flags(error, render(error)) == "a correction needs a reason (--reason)"
    with i18n.language("zh"):
        assert with_flags(error, render(error)).endswith("（--reason）")
    other = DomainError("facts_required", "the facts of the dispute are required")
    with i18n.language("en"):
        assert with_flags(other, render(other)) == "the facts of the dispute are required"
