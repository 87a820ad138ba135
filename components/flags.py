"""A component's command line: each input feeds the ``campaignlab`` flag of the same name.

``--NAME`` is the input's name with dashes, and the command's config field has that name too (one name
per concept, checked by ``tests/components/test_command_lines.py``). An optional input that a pipeline
does not set adds no flag at all, so the core command's config model holds the one default.
"""

from __future__ import annotations

from typing import Any

from kfp import dsl


def flag(name: str) -> str:
    """``tune_subset`` -> ``--tune-subset``."""
    return "--" + name.replace("_", "-")


def optional(name: str, value: Any) -> dsl.IfPresentPlaceholder:
    """``--NAME VALUE`` when the optional input ``name`` has a value; nothing otherwise."""
    return dsl.IfPresentPlaceholder(input_name=name, then=[flag(name), value])
