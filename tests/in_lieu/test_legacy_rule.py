"""Which certificates are the legacy system's (eCoO 1.0), and the rule quoted."""

from __future__ import annotations

import datetime as dt

from app.models.legacy import TRANSITION_RULE, is_legacy_certificate, legacy_refusal

LEGACY = "CO/MUM/2024/58123"
QUOTE = ("application for in-lieu CoO applied against a Preferential eCoO issued on from the "
         "legacy eCoO1.0 system shall be filed on the legacy 1.0 system even after 21.12.2024")


def test_what_is_legacy() -> None:
    assert QUOTE in TRANSITION_RULE
    assert not is_legacy_certificate("IGCC/2026/0000012")
    assert not is_legacy_certificate("IGCC/2026/0000012", dt.date(2026, 1, 5))
    assert not is_legacy_certificate("IGCC/2024/0000001", dt.date(2024, 12, 21))
    assert is_legacy_certificate("IGCC/2024/0000001", dt.date(2024, 12, 20))  # before eCoO 2.0
    assert is_legacy_certificate("IGCC/2023/0004411")  # a year before eCoO 2.0
    assert is_legacy_certificate(LEGACY)  # not this store's numbering
    assert is_legacy_certificate("MUM-2024-58123")
    assert is_legacy_certificate("IGCC/2026/0000012", migrated=True)  # issue 13's record
    assert not is_legacy_certificate("")




def test_the_refusal_is_one_sentence_quoting_the_rule() -> None:
    text = legacy_refusal(LEGACY, "APP-2026-000042")
    assert text.startswith("In-lieu application APP-2026-000042 replaces certificate "
                           f"{LEGACY}, issued by the legacy eCoO 1.0 system")
    assert QUOTE in text and "\n" not in text and text.endswith('2024".')
