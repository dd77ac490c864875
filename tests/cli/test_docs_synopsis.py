"""The docs agree with the CLI: every command's synopsis lists the options its --help lists.

Each command (walked from the click group, subcommands included) has one synopsis in
``docs/<page>.md``: a fenced block with no language whose first line starts with
``bulkpin <command>``. The ``--long`` and ``-s`` tokens of that block must be exactly
the options the command's ``--help`` shows (``-h/--help`` aside: every command has it).
Examples go in ``sh`` blocks, which are not synopses. Every page the README (or a docs
page) links to must exist, and no --help shows RST markup (click prints it raw).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from bulkpin.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: Commands documented on a page not named after them (default: ``docs/<command>.md``).
PAGES = {
    "check": "check-and-status.md",
    "status": "check-and-status.md",
    "ls": "check-and-status.md",
    "jobs": "check-and-status.md",
    "manifest merge": "deployment.md",
}

#: An option token: ``--long``, ``--no-long``, ``-s``; not ``-`` (stdin) nor ``-1``.
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
_FENCE = re.compile(r"^```(.*)$")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(group, info_name="bulkpin")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} ")
        else:
            yield path, command


COMMANDS = dict(_commands(cli))


def help_options(command: click.Command) -> set[str]:
    """The option tokens ``--help`` lists for ``command``, its help option aside."""
    ctx = click.Context(command, info_name="bulkpin")
    found: set[str] = set()
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None or not isinstance(param, click.Option):
            continue
        found.update(_OPTION.findall(record[0]))
    return found - set(ctx.help_option_names)


def synopses(text: str, command: str) -> list[str]:
    """Every untagged fenced block of ``text`` whose first line is ``bulkpin <command> ...``."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        body = lines[i + 1:end]
        first = body[0].split() if body else []
        words = ["bulkpin", *command.split()]
        if opening.group(1).strip() == "" and first[:len(words)] == words:
            blocks.append("\n".join(body))
        i = end + 1
    return blocks


def synopsis_options(synopsis: str) -> set[str]:
    """The option tokens of a synopsis (its first word, ``bulkpin``, and arguments aside)."""
    return set(_OPTION.findall(synopsis))


def mismatch(listed: set[str], documented: set[str]) -> str:
    """What is wrong between the options ``--help`` lists and a synopsis; "" when they agree."""
    problems = []
    if missing := sorted(listed - documented):
        problems.append(f"in --help, not in the synopsis: {' '.join(missing)}")
    if extra := sorted(documented - listed):
        problems.append(f"in the synopsis, not in --help: {' '.join(extra)}")
    return "; ".join(problems)


def page_of(command: str) -> Path:
    """The docs page holding ``command``'s synopsis."""
    return DOCS / PAGES.get(command, f"{command}.md")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_synopsis_matches_help(name: str) -> None:
    page = page_of(name)
    assert page.is_file(), f"bulkpin {name}: no docs page {page.relative_to(ROOT)}"
    found = synopses(page.read_text(encoding="utf-8"), name)
    assert len(found) == 1, (
        f"bulkpin {name}: {len(found)} synopsis blocks in {page.relative_to(ROOT)}, want 1")
    problem = mismatch(help_options(COMMANDS[name]), synopsis_options(found[0]))
    assert not problem, f"bulkpin {name} ({page.relative_to(ROOT)}): {problem}"


def test_a_wrong_synopsis_is_found() -> None:
    # The check above must be able to fail: one option too many, one too few.
    text = page_of("cid").read_text(encoding="utf-8")
    listed = help_options(COMMANDS["cid"])
    (synopsis,) = synopses(text, "cid")
    assert mismatch(listed, synopsis_options(synopsis)) == ""
    assert "not in --help: --bogus" in mismatch(
        listed, synopsis_options(synopsis + " [--bogus N]"))
    assert "not in the synopsis: --json" in mismatch(
        listed, synopsis_options(synopsis.replace("[--json]", "")))


def test_examples_and_other_commands_are_not_synopses() -> None:
    text = "```sh\nbulkpin cid -r x\n```\n```\nbulkpin cidr --x\n```\n```\nbulkpin cid -r\n```\n"
    assert synopses(text, "cid") == ["bulkpin cid -r"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_shows_no_markup(name: str) -> None:
    # click prints docstrings and help as they are: RST roles and ``literals`` show raw.
    command = COMMANDS[name]
    shown = command.get_help(click.Context(command, info_name=f"bulkpin {name}"))
    assert not re.search(r"``|:(class|func|mod|meth|attr):", shown), shown


def _links() -> Iterator[tuple[Path, str]]:
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if not re.match(r"^[a-z]+:", target) and not target.startswith("#"):
                yield page, target.split("#")[0]


@pytest.mark.parametrize(("page", "target"), sorted(set(_links())),
                         ids=lambda value: value.name if isinstance(value, Path) else value)
def test_linked_pages_exist(page: Path, target: str) -> None:
    path = (page.parent / target).resolve()
    if not path.exists() and path.parent == DOCS and path.stem not in COMMANDS:
        # The README may announce a command's page before the command lands.
        pytest.skip(f"{target}: no `bulkpin {path.stem}` command yet")
    assert path.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"


def test_readme_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {(ROOT / target).resolve() for target in _LINK.findall(readme)}
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"
