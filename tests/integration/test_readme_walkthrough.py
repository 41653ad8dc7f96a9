"""The README's walk through the API, taken from the README itself and run as written by bash
against a real server, twice in a row: it must work on any database, any number of times."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN_KEY
from tests.servers import running_servers

README = Path(__file__).resolve().parents[2] / "README.md"

# Every curl fails the run on an error answer (and prints it), instead of letting the next
# command read a problem for an answer.
STRICT_CURL = 'curl() { command curl --fail-with-body --max-time 30 "$@"; }\n'


def walkthrough() -> str:
    """The first shell block under the README's "A walk through the API"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## A walk through the API", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "the README's walk-through has no ```sh block"
    return found.group(1)


def run_walkthrough(api: str) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", STRICT_CURL + walkthrough()],
        env={"PATH": "/usr/bin:/bin", "API": api, "BOXOFFICE_ADMIN_KEY": ADMIN_KEY},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_walkthrough_runs_twice_against_one_server(
    request: pytest.FixtureRequest, database_url: str, backend: str
) -> None:
    extra = {"redis_url": request.getfixturevalue("redis_url")} if backend == "postgres" else {}
    with running_servers(database_url, count=1, **extra) as (api,):
        outputs = [run_walkthrough(api), run_walkthrough(api)]
    for output in outputs:
        # The payment went through, the ticket was issued, the cancellation refunded it.
        assert '"status":"SUCCESS"' in output, output
        assert '"status":"CANCELLED"' in output, output
        assert '"type":"REFUND"' in output, output
    assert outputs[0] != outputs[1]
