"""Pure scheduling helpers over a DAG given as ``{task: set of upstream tasks}``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from local_runner.errors import SpecError

# Group tasks kfp generates (left out of task ids); ".N" marks iteration N of a ParallelFor.
_GROUP = re.compile(r"^(exit-handler|condition|condition-branches|for-loop)-\d+(\.\d+)?$")


def task_id(prefix: str, name: str, loop_suffix: str) -> str:
    """The id a task is shown and recorded under: its DAG path without kfp's group tasks, plus the
    loop iteration(s) it belongs to (``outer/inner/train[2]``)."""
    kept = [p for p in prefix.split("/") if p and not _GROUP.match(p)]
    return "/".join([*kept, name]) + loop_suffix


def topological_order(upstream: Mapping[str, Iterable[str]]) -> list[str]:
    """Order tasks so that every task comes after its upstream tasks (ties broken by name).

    Raises:
        SpecError: the graph has a cycle or names an unknown task.
    """
    deps = {task: set(ups) for task, ups in upstream.items()}
    for task, ups in deps.items():
        unknown = ups - deps.keys()
        if unknown:
            raise SpecError(f"task {task!r} depends on unknown task(s) {sorted(unknown)}")
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(deps):
        ready = sorted(t for t, ups in deps.items() if t not in done and ups <= done)
        if not ready:
            cycle = sorted(set(deps) - done)
            raise SpecError(f"the pipeline graph has a cycle among {cycle}")
        order.extend(ready)
        done.update(ready)
    return order


def ready_tasks(
    upstream: Mapping[str, Iterable[str]], finished: Iterable[str], started: Iterable[str]
) -> list[str]:
    """Tasks not yet started whose upstream tasks have all finished (in name order)."""
    fin = set(finished)
    st = set(started)
    return sorted(t for t, ups in upstream.items() if t not in st and set(ups) <= fin)


def downstream(upstream: Mapping[str, Iterable[str]], task: str) -> set[str]:
    """Every task that depends, directly or not, on ``task``."""
    out: set[str] = set()
    frontier = {task}
    while frontier:
        nxt = {t for t, ups in upstream.items() if set(ups) & frontier and t not in out}
        out |= nxt
        frontier = nxt
    return out
