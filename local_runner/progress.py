"""Live progress while a run goes (a rich table on a terminal, one line per event otherwise) and the
summary table at the end."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from local_runner.orchestrator import RunResult, TaskResult

_STYLE = {
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "dim",
    "not run": "yellow",
    "cancelled": "magenta",
}


class RunDisplay:
    """Thread-safe progress display; use as a context manager around the run."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live_mode = enabled and self.console.is_terminal
        self.quiet = not enabled
        self._lock = threading.Lock()
        self._running: dict[str, tuple[float, int]] = {}
        self._counts: dict[str, int] = {}
        self._t0 = time.monotonic()
        self._live: Live | None = None

    def __enter__(self) -> RunDisplay:
        self._t0 = time.monotonic()
        if self.live_mode:
            self._live = Live(
                console=self.console, refresh_per_second=4, transient=True, get_renderable=self._render
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def _line(self, text: str, style: str = "") -> None:
        if self.quiet:
            return
        stamp = f"[{time.monotonic() - self._t0:7.1f}s] "
        if self._live is not None:
            self._live.console.print(Text(stamp + text, style=style))
        else:
            self.console.print(Text(stamp + text, style=style), highlight=False)

    def started(self, task_id: str, attempt: int) -> None:
        with self._lock:
            self._running[task_id] = (time.monotonic(), attempt)
        self._line(f"start  {task_id}" + (f" (retry {attempt})" if attempt else ""))

    def finished(self, result: TaskResult) -> None:
        with self._lock:
            self._running.pop(result.id, None)
            label = "cached" if result.cached != "no" else result.status.value
            self._counts[label] = self._counts.get(label, 0) + 1
        extra = f" ({result.cached})" if result.cached != "no" else f" {result.seconds:.1f}s"
        if result.message:
            extra += f": {result.message}"
        self._line(f"{result.status.value:<9} {result.id}{extra}", _STYLE.get(result.status.value, ""))

    def note(self, message: str) -> None:
        self._line(message, "yellow")

    def refresh(self) -> None:
        """Nothing to do: the live view re-renders itself four times a second."""

    def _render(self) -> Group:
        with self._lock:
            running = sorted(self._running.items(), key=lambda kv: kv[1][0])
            counts = dict(self._counts)
        now = time.monotonic()
        head = Text(
            f"{now - self._t0:6.1f}s  running {len(running)}  "
            + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())),
            style="bold",
        )
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("task")
        table.add_column("time", justify="right")
        for task_id, (t0, attempt) in running[:20]:
            table.add_row(
                Text(f"⠿ {task_id}" + (f" (retry {attempt})" if attempt else ""), style="cyan"),
                f"{now - t0:.1f}s",
            )
        return Group(head, table)


def summary_table(result: RunResult) -> Table:
    """The end-of-run table: task, status, seconds, cached, retries."""
    table = Table(title=f"run {result.run_id}: {result.status.value} in {result.seconds:.1f}s")
    for col, justify in (
        ("task", "left"),
        ("status", "left"),
        ("seconds", "right"),
        ("cached", "left"),
        ("retries", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in result.tasks:  # in the order they ended
        status = Text(r.status.value, style=_STYLE.get(r.status.value, ""))
        seconds = f"{r.seconds:.1f}" if r.status.value in ("succeeded", "failed", "cancelled") else "-"
        table.add_row(r.id, status, seconds, r.cached, str(r.retries))
    return table
