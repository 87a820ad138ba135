"""The one command-line app: ``campaignlab generate|verify|calibrate|embed|train|...``.

One module per area (:mod:`.synth`, :mod:`.ingest`, :mod:`.features`, :mod:`.models`,
:mod:`.evaluation`, :mod:`.federated`, :mod:`.registry`, :mod:`.leaderboard`, :mod:`.serving`); each
command builds one pydantic config (``--config`` YAML, then flags on top), turns bad input into a
one-line error on stderr with exit code 2, and writes its outputs atomically.

Commands of packages that build on the core (``pipelines``: compile/submit/schedule; ``local_runner``:
``pipeline run-local``) join through the ``campaignlab.cli`` entry-point group when those packages are
installed: the core never imports them. Importing this module loads no plugin; :func:`build_app` does.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from campaignlab.cli import (
    evaluation,
    features,
    federated,
    ingest,
    leaderboard,
    models,
    registry,
    serving,
    synth,
)

PLUGIN_GROUP = "campaignlab.cli"
"""Entry-point group: each entry point is a ``register(app: typer.Typer) -> None`` function."""

_AREAS = (synth, ingest, features, models, evaluation, federated, registry, serving)


def build_app(plugins: bool = True) -> typer.Typer:
    """Assemble the ``campaignlab`` command from the area modules and, if asked, the installed plugins."""
    app = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        help="campaignlab: campaign-outcome prediction from multimodal data.",
    )
    for area in _AREAS:
        app.registered_commands.extend(area.app.registered_commands)
        app.registered_groups.extend(area.app.registered_groups)
    app.add_typer(leaderboard.app, name="leaderboard")
    if plugins:
        for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
            ep.load()(app)
    return app


def main() -> None:  # pragma: no cover - the console script
    build_app()()
