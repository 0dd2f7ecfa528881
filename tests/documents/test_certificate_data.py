"""The data contract: checked on construction, JSON round trip, country names."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from app.documents.certificate_data import CertificateDataError
from app.documents.certificate_json import certificate_data_from_json, certificate_data_to_json
from app.documents.countries import country_name, country_names
from app.documents.samples import sample_certificate


def test_country_table_covers_iso_3166():
    names = country_names()
    assert len(names) == 249
    assert country_name("IN") == "India"
    assert country_name("AE") == "United Arab Emirates"
    assert all(len(code) == 2 and code.isupper() for code in names)
    with pytest.raises(KeyError):
        country_name("XX")


@pytest.mark.parametrize("kind", ["preferential", "in_lieu", "back_to_back"])
def test_json_round_trip(kind):
    data = sample_certificate("AIFTA", kind=kind, goods=5)
    text = certificate_data_to_json(data)
    assert certificate_data_from_json(text) == data
    raw = json.loads(text)
    assert raw["goods"][0]["fob_value"] == "2450.00"
    assert raw["issue_date"] == "2025-03-14"


def test_json_errors_name_the_field():
    raw = json.loads(certificate_data_to_json(sample_certificate("SAFTA")))
    raw["goods"][1]["hs_code"] = "12AB"
    with pytest.raises(CertificateDataError, match=r"goods\[1\].hs_code is '12AB'"):
        certificate_data_from_json(json.dumps(raw))
    raw = json.loads(certificate_data_to_json(sample_certificate("SAFTA")))
    raw["goods"][0]["quantity"] = 1.5
    with pytest.raises(CertificateDataError, match=r"goods\[0\].quantity .* as strings"):
        certificate_data_from_json(json.dumps(raw))
    raw = json.loads(certificate_data_to_json(sample_certificate("SAFTA")))
    raw["colour"] = "red"
    with pytest.raises(CertificateDataError, match="unknown key"):
        certificate_data_from_json(json.dumps(raw))
    del raw["colour"], raw["exporter"]["iec"]
    with pytest.raises(CertificateDataError, match="exporter.iec is missing"):
        certificate_data_from_json(json.dumps(raw))
    with pytest.raises(CertificateDataError, match="not valid JSON"):
        certificate_data_from_json("{")


def test_values_are_checked_on_construction():
    data = sample_certificate("AIFTA")
    cases = [
        (dict(kind="gift"), "kind is 'gift'"),
        (dict(form_code="NONPREF"), "preferential certificate uses its agreement"),
        (dict(destination_country="ZZ"), "destination_country is 'ZZ'"),
        (dict(exporter=replace(data.exporter, iec="123")), "exporter.iec"),
        (dict(remarks="bell\x07"), "control characters"),
        (dict(stamp_png=b"GIF89a"), "stamp_png is not a PNG"),
        (dict(goods=(replace(data.goods[0], quantity=Decimal("-1")),)), "cannot be negative"),
        (dict(goods=(replace(data.goods[0], currency="usd"),)), "ISO 4217"),
        (dict(kind="in_lieu"), "in_lieu is missing"),
        (dict(kind="back_to_back"), "back_to_back is missing"),
        (dict(issue_date=None), "issue_date is None; expected a date"),
    ]
    for changes, message in cases:
        with pytest.raises(CertificateDataError, match=message):
            replace(data, **changes)
    b2b = sample_certificate("NONPREF", kind="back_to_back")
    with pytest.raises(CertificateDataError, match="must agree"):
        replace(b2b, origin_country="IN")
