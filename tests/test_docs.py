"""Every command the README and docs/ show is one the tools accept as written.

Each ``campaignlab ...`` line of a ```bash block is parsed by the real ``campaignlab`` command (every
sub-command and flag must exist and take the values given); ``make X`` must be a Makefile target and
``python benchmarks/X.py`` / ``python -m local_runner`` lines must name a script and flags it takes.
(Running them is the job of the tests of each command: these lines hold placeholders such as PROJECT.)
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from campaignlab.cli import build_app

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def _commands(page: Path) -> list[tuple[int, str]]:
    """(line number, command) for each command line of the page's ```bash blocks."""
    out: list[tuple[int, str]] = []
    in_block, pending, start = False, "", 0
    for n, line in enumerate(page.read_text().splitlines(), 1):
        if line.startswith("```"):
            in_block = line.strip() in ("```bash", "```sh", "```shell")
            continue
        if not in_block or (not pending and line.lstrip().startswith("#")):  # a comment line
            continue
        text = re.sub(r"\s#\s.*$", "", line).rstrip()  # a trailing comment (a '#' inside a word stays)
        if not pending:
            start = n
        pending += text
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        if pending.strip():
            out.append((start, pending.strip()))
        pending = ""
    return out


ALL = [(page, n, cmd) for page in PAGES for n, cmd in _commands(page)]


def _argv(cmd: str) -> list[str]:
    words = shlex.split(cmd)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value prefixes
        words.pop(0)
    # [--json] / [--tls --node-auth]: optional parts, shown as such; the flags inside must still exist
    return [w.strip("[]") for w in words if w.strip("[]")]


def _click_root() -> click.Group:
    root = typer.main.get_command(build_app())
    assert isinstance(root, click.Group)
    return root


def test_the_pages_show_commands() -> None:
    shown = {page.name for page, _, cmd in ALL if cmd.startswith("campaignlab ")}
    assert {"README.md", "generator.md", "features.md", "models.md", "pipelines.md"} <= shown


@pytest.mark.parametrize(
    ("page", "line", "cmd"),
    [a for a in ALL if a[2].startswith("campaignlab ")],
    ids=[f"{p.name}:{n}" for p, n, c in ALL if c.startswith("campaignlab ")],
)
def test_campaignlab_command_parses(page: Path, line: int, cmd: str) -> None:
    assert "..." not in cmd, f"{page.name}:{line}: '...' is not a runnable argument: {cmd}"
    words = _argv(cmd)[1:]
    command: click.Command = _click_root()
    ctx = click.Context(command, info_name="campaignlab")
    while isinstance(command, click.Group):
        assert words, f"{page.name}:{line}: no sub-command in {cmd!r}"
        sub = command.get_command(ctx, words[0])
        assert sub is not None, f"{page.name}:{line}: no command {words[0]!r} in {cmd!r}"
        command, words = sub, words[1:]
        ctx = click.Context(command, info_name=command.name, parent=ctx)
    try:
        values, extra, _ = command.make_parser(ctx).parse_args(list(words))
    except click.UsageError as err:
        pytest.fail(f"{page.name}:{line}: {cmd!r}: {err}")
    assert not extra, f"{page.name}:{line}: unexpected arguments {extra} in {cmd!r}"
    for param in command.params:  # required parameters are given (or come from the environment)
        if param.required and param.name not in values and not getattr(param, "envvar", None):
            pytest.fail(f"{page.name}:{line}: {cmd!r} lacks the required {param.name!r}")


def _make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, flags=re.M))


@pytest.mark.parametrize(
    ("page", "line", "cmd"),
    [a for a in ALL if not a[2].startswith("campaignlab ")],
    ids=[f"{p.name}:{n}" for p, n, c in ALL if not c.startswith("campaignlab ")],
)
def test_other_commands_exist(page: Path, line: int, cmd: str) -> None:
    words = _argv(cmd)
    where = f"{page.name}:{line}: {cmd!r}"
    if not words or re.fullmatch(r"[A-Z_]+=\$\(.*\)", cmd):  # an assignment the lines below use
        return
    if words[0] == "export":  # sets the environment of the lines that follow
        return
    if words[0] == "make":
        assert {w for w in words[1:] if "=" not in w} <= _make_targets(), where  # VAR=value: variables
        return
    if words[0] in ("python", ".venv/bin/python") and words[1].endswith(".py"):
        assert (REPO / words[1]).is_file(), where
        program = [sys.executable, str(REPO / words[1])]
    elif words[0] in ("python", ".venv/bin/python") and words[1] == "-m":
        program = [sys.executable, "-m", words[2]]
    elif words[0].endswith(".sh"):
        assert (REPO / words[0]).is_file(), where
        return
    else:
        pytest.fail(f"{where}: not a command this test knows how to check")
    proc = subprocess.run(
        [*program, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"{where}: {proc.stderr[-500:]}"
    for flag in (w.split("=")[0] for w in words if w.startswith("--")):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", proc.stdout), f"{where}: no {flag}"
