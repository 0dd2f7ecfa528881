"""Trade agreements: reference data shipped in resources/agreements.json."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from app.models.validation import RESOURCES


@dataclass(frozen=True)
class TradeAgreement:
    code: str
    name: str
    form: str
    form_name: str
    partners: tuple[str, ...]
    rule: str
    min_rvc_percent: int | None
    tariff_shift: str | None

    def covers(self, country: str) -> bool:
        return country in self.partners


@functools.cache
def trade_agreements() -> dict[str, TradeAgreement]:
    with (RESOURCES / "agreements.json").open(encoding="utf-8") as handle:
        raw = json.load(handle)
    return {
        entry["code"]: TradeAgreement(
            code=entry["code"],
            name=entry["name"],
            form=entry["form"],
            form_name=entry["form_name"],
            partners=tuple(entry["partners"]),
            rule=entry["rule"],
            min_rvc_percent=entry["min_rvc_percent"],
            tariff_shift=entry["tariff_shift"],
        )
        for entry in raw["agreements"]
    }
