"""benchmarks/kfp_conformance.py classifies files as the KFP corpus's folders say (a tiny corpus of ours).

(No ``from __future__ import annotations``: kfp reads the real annotation objects.)
"""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl

from tests.conftest import REPO
from tests.local_runner.kfp_cases import IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]


@dsl.container_component
def shell(script: str):
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", script])


@dsl.pipeline(name="harness-ok")
def ok(script: str):  # a required parameter: the harness must supply one
    shell(script="echo fine")


@dsl.pipeline(name="harness-fails")
def fails():
    shell(script="echo failing; exit 3")


@dsl.pipeline(name="harness-wrongly-succeeds")
def wrongly_succeeds():
    shell(script="true")


def test_harness_classifies_a_small_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus" / "pipelines"
    for folder in ("valid", "valid__failing", "invalid"):
        (corpus / folder).mkdir(parents=True)
    compiler.Compiler().compile(ok, str(corpus / "valid" / "ok.yaml"))
    compiler.Compiler().compile(fails, str(corpus / "valid__failing" / "fails.yaml"))
    compiler.Compiler().compile(wrongly_succeeds, str(corpus / "valid__failing" / "succeeds.yaml"))
    (corpus / "invalid" / "component.yaml").write_text(yaml.safe_dump({"name": "x", "implementation": {}}))
    # A valid pipeline using a placeholder the runner does not implement: refused by name.
    workspace = corpus / "valid" / "workspace.yaml"
    compiler.Compiler().compile(ok, str(workspace))
    doc = yaml.safe_load(workspace.read_text())
    doc["deploymentSpec"]["executors"]["exec-shell"]["container"]["args"] = ["{{$.workspace_path}}"]
    workspace.write_text(yaml.safe_dump(doc))
    page = tmp_path / "page.md"

    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/kfp_conformance.py",
            "--corpus",
            str(tmp_path / "corpus"),
            "--out",
            str(page),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr  # one FAIL: the failing file that succeeded
    rows = {
        cells[1]: cells[2:]
        for line in page.read_text().splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.split("|")])[1].endswith(".yaml")
    }
    # columns: expected, backend, got, verdict, kfp values, seconds, detail
    assert rows["valid/ok.yaml"][:4] == ["succeed", "docker", "succeeded", "pass"]
    assert rows["valid__failing/fails.yaml"][:4] == ["fail", "docker", "failed", "pass"]
    assert rows["valid__failing/succeeds.yaml"][2:4] == ["succeeded", "FAIL"]
    assert rows["invalid/component.yaml"][2:4] == ["refused", "pass"]
    assert rows["valid/workspace.yaml"][2:4] == ["refused", "refused"]
    assert "WORKSPACE_PATH_PLACEHOLDER" in rows["valid/workspace.yaml"][6]
    text = page.read_text()
    assert "5 files: 3 pass, 1 refused, 0 offline, 1 FAIL" in text
    assert "- command: `" in text and "- machine: " in text and "- date: " in text
