"""Languages and time zones of the pages: which one a visitor gets, and the catalogs.

English is written in the templates; Korean comes from `translations/ko/LC_MESSAGES/
messages.po`, compiled in memory at start-up so the repository holds only the text file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT_LANGUAGE = "en"
DEFAULT_TIME_ZONE = "Asia/Seoul"
LANGUAGE_COOKIE = "boxoffice_lang"
TIME_ZONE_COOKIE = "boxoffice_tz"
CATALOGS = Path(__file__).parent / "translations"


@cache
def translations(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def language_of(request: Request) -> str:
    """The visitor's choice (the switch sets a cookie), else the best of Accept-Language."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("accept-language", ""))


def negotiate(accept_language: str) -> str:
    """The first language of the header (by quality, then order) that the pages speak."""
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, order, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def time_zone_of(request: Request) -> ZoneInfo:
    """The zone the visitor's browser reported (a cookie set by the pages' script), else Seoul,
    where most of the audience lives. The script writes the name percent-encoded, as a cookie
    value must be (`Europe%2FBerlin`)."""
    return zone_named(unquote(request.cookies.get(TIME_ZONE_COOKIE, "")))


def zone_named(name: str) -> ZoneInfo:
    if name and len(name) < 64 and ".." not in name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(DEFAULT_TIME_ZONE)


@dataclass(frozen=True)
class Formatter:
    """Dates and amounts written the visitor's way."""

    language: str
    zone: ZoneInfo

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    def when(self, moment: datetime) -> str:
        # A skeleton, not a pattern: each language orders weekday, day and month its own way.
        day = format_skeleton("yMMMEd", moment, tzinfo=self.zone, locale=self.locale)
        # The wide day period: Korean readers expect 오전/오후 where the short form says AM/PM.
        pattern = re.sub(r"(?<![a'])a(?![a'])", "aaaa", self.locale.time_formats["short"].pattern)
        hour = format_time(moment, pattern, tzinfo=self.zone, locale=self.locale)
        joined: str = self.locale.datetime_formats["medium"].format(hour, day)
        return joined

    def local_input(self, moment: datetime) -> str:
        """The value of a `datetime-local` field showing this moment in the visitor's zone."""
        return moment.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M")

    def number(self, amount: int) -> str:
        return format_decimal(amount, locale=self.locale)
