"""Every message the pages show has its Korean text, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from boxoffice.web import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    found = extract_from_dir(
        ROOT / "src" / "boxoffice" / "web",
        method_map,
        options_map,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def test_every_message_of_the_pages_has_korean_text() -> None:
    messages = _extracted()
    assert len(messages) > 100  # the extraction itself found the templates
    korean = i18n.translations("ko")
    missing = sorted(m for m in messages if korean.gettext(m) == m)
    assert not missing, f"no Korean text for: {missing}"


def test_korean_text_keeps_every_placeholder() -> None:
    korean = i18n.translations("ko")
    for message in _extracted():
        translated = korean.gettext(message)
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(message)), message
