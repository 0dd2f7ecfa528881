"""The certification box names the officer first, then the agency once: the office's name
only where it says more than the agency's (a regional office), and with a 160-character
agency name and 'Issued retrospectively' every word stays inside the box, none over another."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from dataclasses import replace

import pytest

from app.documents.certificate_data import IssuingOffice
from app.documents.field_text import office_beyond_agency
from app.documents.renderer import render_certificate
from app.documents.samples import sample_certificate
from tests.documents.conftest import make_ecdsa_token

TOKEN = make_ecdsa_token()
AGENCY = ("Federation of Indian Export Organisations and Allied Chambers of Commerce, "
          "Industry and Trade for the Western Region of India (Maharashtra, Goa, Gujarat)"
          ", Daman")  # 160 characters
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r"([^<]*)</word>")


def office(name: str, agency: str = "Federation of Indian Export Organisations",
           place: str = "Mumbai") -> IssuingOffice:
    return IssuingOffice(code="FIEOMUM01", name=name, place=place, agency_name=agency)


def test_the_office_name_says_only_what_the_agency_name_does_not():
    assert office_beyond_agency(office("Federation of Indian Export Organisations, Mumbai "
                                       "Regional Office")) == "Mumbai Regional Office"
    assert office_beyond_agency(office("Federation of Indian Export Organisations - Pune",
                                       place="Mumbai")) == "Pune"
    assert office_beyond_agency(office("Mumbai Regional Office, Federation of Indian Export "
                                       "Organisations")) == "Mumbai Regional Office"
    # the store's agency name may say more than the office's start ("(FIEO)")
    fieo = "Federation of Indian Export Organisations (FIEO)"
    assert office_beyond_agency(office("Federation of Indian Export Organisations, Mumbai "
                                       "Regional Office", agency=fieo)) == \
        "Mumbai Regional Office"
    assert office_beyond_agency(office("Federation of Indian Export Organisations, Mumbai",
                                       agency=fieo)) == ""
    # the place is printed on the dated line anyway; the agency alone says nothing more
    assert office_beyond_agency(office("Federation of Indian Export Organisations, Mumbai")) == ""
    assert office_beyond_agency(office("FEDERATION OF INDIAN EXPORT ORGANISATIONS")) == ""
    assert office_beyond_agency(office("Western India Regional Office")) == \
        "Western India Regional Office"
    assert office_beyond_agency(office("Mumbai office", agency="")) == "Mumbai office"


def _words(pdf: bytes) -> list[tuple[float, float, float, float, str]]:
    run = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", "-", "-"], input=pdf,
                         capture_output=True, check=True, timeout=60)
    return [(float(a), float(b), float(c), float(d), w)
            for a, b, c, d, w in WORD.findall(run.stdout.decode("utf-8"))]


@pytest.mark.parametrize("form", ["AIFTA", "NONPREF"])
def test_a_long_agency_name_fits_the_certification_box_once(form):
    data = sample_certificate(form)
    data = replace(
        data,
        issuing_office=replace(data.issuing_office, agency_name=AGENCY,
                               name=f"{AGENCY}, Mumbai Regional Office"),
        transport=replace(data.transport, departure_date=dt.date(2025, 3, 1)),
    )
    assert len(AGENCY) == 160 and data.issued_retrospectively
    rendered = render_certificate(data, qr_signer=TOKEN.signer)
    assert rendered.certification_page == 0
    x1, y1, x2, y2 = rendered.certification_box
    height = 841.8898  # A4, pdftotext measures from the top
    inside = [w for w in _words(rendered.pdf)
              if x1 <= (w[0] + w[2]) / 2 <= x2 and y1 <= height - (w[1] + w[3]) / 2 <= y2]
    text = " ".join(w[4] for w in inside)
    # officer, designation, the agency once, the regional office, the certificate, the note
    order = ["Anil K. Sharma", "Deputy Director", AGENCY, "Mumbai Regional Office",
             "Akbar House", "Certificate No.", "Issued retrospectively"]
    positions = [text.find(part) for part in order]
    assert -1 not in positions and positions == sorted(positions), text
    assert text.count("Allied Chambers") == 1
    for left, top, right, bottom, word in inside:
        assert x1 < left and right < x2 and y1 < height - bottom and height - top < y2, word
    for i, a in enumerate(inside):
        for b in inside[i + 1:]:
            overlap_x = min(a[2], b[2]) - max(a[0], b[0])
            overlap_y = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_x <= 0.5 or overlap_y <= 0.5, (a, b)
