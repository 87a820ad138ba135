"""Print the main job's results table and where its plots and run record are (scripts/run.sh).

Reads only the local runner's run record (``run.json``): the ``summary`` artifact of the compare step is
the results table; every PNG under the run folder is listed by the task that wrote it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(run_dir: Path) -> int:
    record = json.loads((run_dir / "run.json").read_text())
    tasks = record.get("tasks") or {}
    summary = None
    for task in tasks.values() if isinstance(tasks, dict) else tasks:  # keyed by task id
        for name, arts in (task.get("artifacts") or {}).items():
            if name == "summary" and arts:
                summary = Path(arts[0].get("path") or arts[0]["uri"])
    if summary is None or not summary.is_file():
        print(f"no results table in {run_dir / 'run.json'} (did the compare step run?)", file=sys.stderr)
        return 1
    print()
    print(summary.read_text().strip())
    print()
    print(f"run folder: {run_dir}")
    print(f"  run record: {run_dir / 'run.json'}   logs: {run_dir / 'logs'}/")
    pngs = sorted(p for p in run_dir.rglob("*.png"))
    if pngs:
        print("  plots:")
        for png in pngs:
            print(f"    {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
