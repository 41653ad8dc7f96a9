"""The README's table of error codes is the one `boxoffice.errors` defines."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from boxoffice import errors

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| (\d{3}) \| `([A-Z_]+)` \|", re.MULTILINE)


def defined_codes() -> set[tuple[int, str]]:
    return {
        (kind.status, kind.code)
        for _, kind in inspect.getmembers(errors, inspect.isclass)
        if issubclass(kind, errors.DomainError) and kind is not errors.DomainError
    }


def test_the_readme_lists_every_error_code_and_no_other() -> None:
    section = README.read_text().split("## Errors", 1)[1].split("\n## ", 1)[0]
    listed = {(int(status), code) for status, code in ROW.findall(section)}
    assert listed == defined_codes()
