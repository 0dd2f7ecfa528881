"""ISO 3166-1 alpha-2 country codes and their English short names (resources/countries.json)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parents[2] / "resources"
COUNTRIES_FILE = RESOURCES_DIR / "countries.json"


@cache
def country_names() -> Mapping[str, str]:
    """ISO-2 code → English short name, for all 249 ISO 3166-1 countries."""
    with COUNTRIES_FILE.open(encoding="utf-8") as handle:
        table = json.load(handle)
    return dict(table)


def is_country_code(code: str) -> bool:
    return code in country_names()


def country_name(code: str) -> str:
    """The English name of an ISO-2 code, e.g. ``country_name("AE")`` → "United Arab Emirates"."""
    try:
        return country_names()[code]
    except KeyError:
        raise KeyError(f"{code!r} is not an ISO 3166-1 alpha-2 country code") from None
