"""Schema-based fuzzing of the API (schemathesis) against the real server's own ``/openapi.json``.

Every operation is called with generated parameters, headers and bodies (valid and invalid), with a
researcher's token; each answer must be a documented status with a documented body and content type,
and never a 5xx (schemathesis' default checks). Bounded: a fixed number of examples per operation, no
deadline per example (the machine is shared).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.leaderboard.conftest import Server

pytestmark = pytest.mark.slow  # a few minutes of fuzzing
EXAMPLES = 25  # per operation; the API has 11


def fuzzer(
    op: Any, mode: GenerationMode, headers: dict[str, str], calls: dict[str, int]
) -> Callable[[], None]:
    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, timeout=60)
        calls[f"{mode.value} {op.label}"] = calls.get(f"{mode.value} {op.label}", 0) + 1

    return fuzz


def test_every_answer_is_documented_and_none_is_a_server_error(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {server.tokens['carol']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 11, [op.label for op in operations]
    calls: dict[str, int] = {}
    failures = {}
    for op in operations:
        for mode in GenerationMode:  # valid inputs, then invalid ones (which must get a 4xx)
            t0 = time.perf_counter()
            try:
                fuzzer(op, mode, headers, calls)()
            except Unsatisfiable:  # nothing invalid to generate (no constrained parameter)
                assert mode is GenerationMode.NEGATIVE, op.label
            except Exception as err:  # collect every operation's failure, then report them together
                failures[f"{mode.value} {op.label}"] = f"{type(err).__name__}: {err}"[:3000]
            print(f"{mode.value:8} {op.label:50} {time.perf_counter() - t0:6.1f} s")
    assert failures == {}, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    parametrised = [op.label for op in operations if op.label not in ("GET /", "GET /healthz", "GET /api/me")]
    assert all(calls.get(f"positive {label}", 0) >= 5 for label in parametrised), calls
    assert sum(v for k, v in calls.items() if k.startswith("negative")) >= 50, calls
