"""Form specifications: every form loads, inherits and stays inside its page."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.documents.certificate_data import FORM_CODES
from app.documents.form_spec import (
    FORMS_DIR,
    FormSpecError,
    available_forms,
    load_form_spec,
    read_form_spec,
)


def test_one_specification_per_form_code():
    assert set(available_forms()) == set(FORM_CODES)


@pytest.mark.parametrize("code", FORM_CODES)
def test_specification_is_complete_and_inside_the_frame(code):
    spec = load_form_spec(code)
    frame_w, frame_h = spec.frame_mm
    ids = [b.id for b in spec.boxes]
    assert {"certification", "qr", "heading"} <= set(ids)
    for box in spec.boxes:
        r = box.rect
        assert r.x + r.w <= frame_w + 0.01 and r.y + r.h <= frame_h + 0.01, box.id
    g = spec.goods.rect
    assert abs(sum(c.width for c in spec.goods.columns) - g.w) < 0.05
    # no two boxes overlap, and none overlaps the goods table
    rects = [(b.id, b.rect) for b in spec.boxes] + [("goods", g)]
    for i, (a_id, a) in enumerate(rects):
        for b_id, b in rects[i + 1 :]:
            overlap_w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
            overlap_h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
            assert overlap_w <= 0.01 or overlap_h <= 0.01, (code, a_id, b_id)
    if code != "NONPREF":
        keys = {c.key for c in spec.goods.columns}
        assert "origin_criterion" in keys and "invoice" in keys
        assert keys & {"hs_code", "packages_description_hs"}
        assert spec.box("declaration").statement
        assert spec.agreement


def test_inheritance_shares_layouts():
    safta, apta, islfta = (load_form_spec(c) for c in ("SAFTA", "APTA", "ISLFTA"))
    assert safta.goods.columns == apta.goods.columns == islfta.goods.columns
    assert apta.title != safta.title
    assert safta.notes and apta.notes != safta.notes and islfta.notes != safta.notes
    iucepa, iaecta = load_form_spec("IUCEPA"), load_form_spec("IAECTA")
    assert iucepa.goods.columns == iaecta.goods.columns
    assert iucepa.box("retrospective").options[0].ticked_when == "retrospective"
    imceca = load_form_spec("IMCECA")
    assert "Malaysia" in imceca.agreement


def test_form_ai_has_the_published_twelve_boxes_and_notes_overleaf():
    spec = load_form_spec("AIFTA")
    numbers = sorted(int(b.number) for b in spec.boxes if b.number)
    numbers += [int(c.number) for c in spec.goods.columns if c.number]
    assert sorted(numbers) == list(range(1, 13))
    assert not any(b.style == "checkboxes" for b in spec.boxes)  # no invented box 13
    assert spec.notes and "FORM AI" in spec.notes_title


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_specification_errors_name_the_file_and_key(tmp_path):
    base = (FORMS_DIR / "_base.toml").read_text(encoding="utf-8")
    _write(tmp_path, "_base.toml", base)
    nonpref = (FORMS_DIR / "NONPREF.toml").read_text(encoding="utf-8")
    good = _write(tmp_path, "GOOD.toml", nonpref)
    assert read_form_spec(good).name.startswith("Certificate of Origin")

    bad_field = _write(tmp_path, "BAD1.toml", nonpref.replace('"origin_country"', '"colour"'))
    with pytest.raises(FormSpecError, match=r"BAD1.toml: boxes.origin.content .*'colour'"):
        read_form_spec(bad_field)
    outside = _write(tmp_path, "BAD2.toml",
                     nonpref.replace("rect = [90, 50.2, 96, 11.8]", "rect = [90, 50.2, 196, 11.8]"))
    with pytest.raises(FormSpecError, match="boxes.origin.rect .* does not lie inside"):
        read_form_spec(outside)
    widths = _write(tmp_path, "BAD3.toml", nonpref.replace("width = 78", "width = 70"))
    with pytest.raises(FormSpecError, match="widths add up to 178"):
        read_form_spec(widths)
    missing_parent = _write(tmp_path, "BAD4.toml", 'extends = "_nowhere"\n')
    with pytest.raises(FormSpecError, match="does not exist"):
        read_form_spec(missing_parent)
    loop = _write(tmp_path, "BAD5.toml", 'extends = "BAD5"\n')
    with pytest.raises(FormSpecError, match="extends itself"):
        read_form_spec(loop)
    broken = _write(tmp_path, "BAD6.toml", "[page\n")
    with pytest.raises(FormSpecError, match="not valid TOML"):
        read_form_spec(broken)
    with pytest.raises(FormSpecError, match="known forms"):
        load_form_spec("NOSUCH")


def _numbers(spec) -> list[int]:
    numbers = [int(b.number) for b in spec.boxes if b.number]
    return sorted(numbers + [int(c.number) for c in spec.goods.columns if c.number])


def test_isceca_and_imceca_follow_the_combined_form_with_notes_overleaf():
    isceca, imceca = load_form_spec("ISCECA"), load_form_spec("IMCECA")
    for spec, short in ((isceca, "ISCECA"), (imceca, "IMCECA")):
        assert _numbers(spec) == list(range(1, 13)), spec.code
        assert spec.notes, spec.code
        assert "(See Notes Overleaf)" in spec.box("heading").static
        assert any(short in line for line in spec.box("official_use").static)
    assert "in the ISCECA for the goods exported to" in isceca.box("declaration").statement
    assert isceca.goods.columns[3].heading.startswith("Origin criteria")


def test_statements_follow_the_published_wording():
    for code in ("SAFTA", "APTA", "ISLFTA"):
        statement = load_form_spec(code).box("declaration").statement
        assert "specified for those goods in the {agreement} for goods exported to" in statement
    iaecta = load_form_spec("IAECTA").box("declaration").statement
    assert "originating" in iaecta and "consignment requirements" in iaecta


@pytest.mark.parametrize("code", FORM_CODES)
def test_in_lieu_and_back_to_back_wording_is_printed_once_where_the_form_has_room(code):
    """The in-lieu / back-to-back statement and the remarks go in the form's remarks box;
    only a form without one (Form AI, the SAFTA family, ISCECA, IMCECA) prints them after
    the goods. The box for official use belongs to the importing country's customs: the
    desk never writes in it."""
    spec = load_form_spec(code)
    for key in ("kind_statement", "remarks"):
        boxes = [b.id for b in spec.boxes if key in b.content]
        in_goods = key in spec.goods.trailer
        assert len(boxes) + in_goods == 1, (code, key, boxes, in_goods)
        if any(b.id == "remarks" for b in spec.boxes):
            assert boxes == ["remarks"], (code, key)
        else:
            assert in_goods, (code, key)
    assert not any(b.content for b in spec.boxes if b.id == "official_use"), code
