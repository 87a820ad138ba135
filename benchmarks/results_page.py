"""The page a benchmark writes into ``docs/results/``: its table under a header that says how it was made.

Every benchmark ends with :func:`write_page`: the command that ran (as typed, from the repository
root), the UTC date, and the machine (CPU model, cores this process may use, RAM, load average at the
start and at the end: the machines we measure on are shared, so the load says how far to trust absolute
times). Figures on a results page come from a run, never from a hand edit.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "docs" / "results"
_START_LOAD = os.getloadavg()  # at import, i.e. when the benchmark starts


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that is running, as one would type it from the repository root."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve()
    try:
        shown = str(script.relative_to(REPO))
    except ValueError:
        shown = argv[0]
    return shlex.join(["python", shown, *argv[1:]])


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def ram_gib() -> float:
    """Total memory in GiB (``/proc/meminfo``; 0 when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpu": cpu_model(),
        "cores": cores(),
        "ram_gib": round(ram_gib(), 1),
        "load_start": [round(x, 2) for x in _START_LOAD],
        "load_end": [round(x, 2) for x in os.getloadavg()],
    }


def header(title: str, command: str | None = None, when: dt.datetime | None = None) -> str:
    """The page's title and the three facts every results page starts with: command, date, machine."""
    m = machine()
    when = when or dt.datetime.now(dt.UTC)
    load = " / ".join(f"{x:.2f}" for x in m["load_start"])
    load_end = " / ".join(f"{x:.2f}" for x in m["load_end"])
    return (
        f"# {title}\n\n"
        "Written by the benchmark itself; rerun the command to refresh this page.\n\n"
        f"- Command: `{command or command_line()}`\n"
        f"- Date: {when:%Y-%m-%d %H:%M} UTC\n"
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']:.1f} GiB RAM; load average (1/5/15 min) "
        f"{load} at the start, {load_end} at the end\n"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (cells as given: format numbers before)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def write_page(name: str, title: str, body: str, *, command: str | None = None) -> Path:
    """Write ``docs/results/NAME.md``: the header, then ``body`` (Markdown); return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    text = header(title, command) + "\n" + body.strip() + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)
    return path
