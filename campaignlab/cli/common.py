"""What every command module shares: the error handler and JSON output.

Also used by the command modules of ``pipelines`` and ``local_runner`` (they join the one ``campaignlab``
command as plugins, see :mod:`campaignlab.cli`).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel

from campaignlab.errors import CampaignlabError

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

CONFIG_HELP = "YAML file with any field of this command's config; flags given here win over it"


def handle_errors(fn: F) -> F:
    """Turn :class:`CampaignlabError` into ``error: ...`` on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CampaignlabError as err:
            typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def echo_json(obj: Any) -> None:
    """Print ``obj`` as indented, key-sorted JSON on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def command_config(config_model: type[M], config: Path | None, /, **flags: Any) -> M:
    """The one way a command builds its config: the ``--config`` YAML file, then the flags on top.

    Each keyword is a field of ``config_model`` with the flag's name. Flags left at ``None`` are not
    given and do not override the file; nested mappings merge.
    """
    from campaignlab.config import load_config

    return load_config(config_model, config, **flags)


def subgroup(app: typer.Typer, name: str, help: str) -> typer.Typer:
    """The sub-command group ``name`` of ``app``, created on first use (plugins share groups)."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(no_args_is_help=True, help=help)
    app.add_typer(group, name=name)
    return group
