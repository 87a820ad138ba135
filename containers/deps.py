"""Print one dependency set of campaignlab from pyproject.toml, one requirement a line (for pip -r).

Usage: python deps.py core|EXTRA < pyproject.toml     the set, without torch
       python deps.py --torch < pyproject.toml        only the torch requirement (e.g. torch>=2.2,<2.15)

The Dockerfile installs each image's dependency set from this list before it copies any source,
so a change to the code never invalidates the slow dependency layers. torch is printed apart
because the Dockerfile installs it from a local CPU wheel or the CPU index, never a CUDA build.
"""

import re
import sys

import tomllib

project = tomllib.loads(sys.stdin.read())["project"]
name = sys.argv[1] if len(sys.argv) > 1 else "core"
if name == "--torch":
    every = [r for reqs in project["optional-dependencies"].values() for r in reqs]
    print(next(r for r in every if re.match(r"torch\b", r)))
    sys.exit(0)
reqs = project["dependencies"] if name == "core" else project["optional-dependencies"][name]
for req in reqs:
    if re.match(r"torch\b", req) or req.startswith("campaignlab"):
        continue
    print(req)
