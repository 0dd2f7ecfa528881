"""Cleaning synthetic scans whose true ink mask and colour are known."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageStat

from app.imaging import MAX_OUTPUT_SIDE, CleanResult, analyse_ink, clean_ink
from bench.imaging_synthetic import (
    STANDARD_SPECS,
    ScanSpec,
    SyntheticScan,
    make_blank_page,
    make_photo_like,
    make_scan,
    mask_iou,
    otsu_mask,
    result_mask_on_page,
)

COLOUR_TOLERANCE = 30.0  # Euclidean distance in RGB between measured and true ink


def iou(result: CleanResult, scan: SyntheticScan) -> float:
    predicted = result_mask_on_page(result.image.getchannel("A"), result.box, scan.image.size)
    return mask_iou(predicted, scan.truth)


def opaque_mean(result: CleanResult) -> tuple[float, ...]:
    opaque = result.image.getchannel("A").point(lambda v: 255 if v > 128 else 0)
    return tuple(ImageStat.Stat(result.image.convert("RGB"), opaque).mean)


@pytest.fixture(scope="module")
def results(standard_scans: list[SyntheticScan]) -> list[CleanResult]:
    return [clean_ink(s.image, kind=s.spec.kind) for s in standard_scans]


@pytest.mark.parametrize("index", range(len(STANDARD_SPECS)),
                         ids=[f"{s.kind}-{s.ink}-{s.paper}" for s in STANDARD_SPECS])
def test_each_case_recovers_the_ink(index: int, standard_scans: list[SyntheticScan],
                                    results: list[CleanResult]) -> None:
    scan, result = standard_scans[index], results[index]
    assert result.image.mode == "RGBA"
    assert result.warnings == ()
    assert iou(result, scan) >= 0.9
    assert math.dist(opaque_mean(result), scan.ink_rgb) <= COLOUR_TOLERANCE
    assert math.dist(result.ink_rgb, scan.ink_rgb) <= COLOUR_TOLERANCE


def test_mean_iou_and_far_above_otsu(standard_scans: list[SyntheticScan],
                                     results: list[CleanResult]) -> None:
    ours = [iou(r, s) for r, s in zip(results, standard_scans, strict=True)]
    otsu = [mask_iou(otsu_mask(s.image), s.truth) for s in standard_scans]
    assert sum(ours) / len(ours) >= 0.95
    assert sum(ours) / len(ours) >= sum(otsu) / len(otsu) + 0.3


def test_crop_hugs_the_ink_and_box_matches_the_image(standard_scans: list[SyntheticScan],
                                                     results: list[CleanResult]) -> None:
    for scan, result in zip(standard_scans, results, strict=True):
        tx0, ty0, tx1, ty1 = scan.truth.getbbox()
        x0, y0, x1, y1 = result.box
        assert result.scale == 1.0
        assert result.image.size == (x1 - x0, y1 - y0)
        # the ink is inside, with a small margin (at most ~5% of the ink's size + 6 px)
        slack = 0.05 * max(tx1 - tx0, ty1 - ty0) + 6
        assert x0 <= tx0 and y0 <= ty0 and x1 >= tx1 and y1 >= ty1
        assert tx0 - x0 <= slack and ty0 - y0 <= slack
        assert x1 - tx1 <= slack and y1 - ty1 <= slack


def test_edges_are_soft_and_carry_the_ink_colour_not_the_paper(
        standard_scans: list[SyntheticScan], results: list[CleanResult]) -> None:
    for scan, result in zip(standard_scans, results, strict=True):
        alpha = result.image.getchannel("A")
        edge = alpha.point(lambda v: 255 if 0 < v < 255 else 0)
        n_edge = edge.histogram()[255]
        assert n_edge > 0.05 * alpha.point(lambda v: 255 if v else 0).histogram()[255]
        edge_colour = ImageStat.Stat(result.image.convert("RGB"), edge).mean
        # a paper halo would pull edge pixels towards white/yellow paper
        assert math.dist(edge_colour, scan.ink_rgb) <= COLOUR_TOLERANCE + 10


def test_background_is_fully_transparent(standard_scans: list[SyntheticScan],
                                         results: list[CleanResult]) -> None:
    for scan, result in zip(standard_scans, results, strict=True):
        x0, y0, x1, y1 = result.box
        far = scan.truth.crop(result.box).point(lambda v: 255 if v else 0)
        from app.imaging.morphology import dilate_mask

        near_ink = dilate_mask(far, 6)
        paper = ImageChops.invert(near_ink)
        stray = ImageChops.multiply(result.image.getchannel("A").point(
            lambda v: 255 if v > 64 else 0), paper).histogram()[255]
        assert stray <= 0.002 * (x1 - x0) * (y1 - y0)


def test_big_scan_is_bounded_and_preview_is_smaller() -> None:
    scan = make_scan(ScanSpec("stamp", "blue", "white", size=(2600, 2000), seed=21))
    full = clean_ink(scan.image)
    assert max(full.image.size) <= MAX_OUTPUT_SIDE
    assert full.scale < 1.0
    assert iou(full, scan) >= 0.9
    preview = clean_ink(scan.image, max_side=400)
    assert max(preview.image.size) <= 400
    assert iou(preview, scan) >= 0.85
    assert preview.dpi is None


def test_strength_thins_and_thickens(standard_scans: list[SyntheticScan]) -> None:
    analysis = analyse_ink(standard_scans[0].image)
    counts = [analysis.render(s).image.getchannel("A").point(
        lambda v: 255 if v > 128 else 0).histogram()[255] for s in (0.0, 0.5, 1.0)]
    assert counts[0] > counts[1] > counts[2]
    again = clean_ink(standard_scans[0].image, strength=0.5)
    assert again.image.tobytes() == analysis.render(0.5).image.tobytes()


@pytest.fixture(scope="module")
def small_analysis() -> object:
    scan = make_scan(ScanSpec("signature", "violet", "yellowed", size=(500, 380), seed=31))
    return analyse_ink(scan.image, kind="signature", max_side=300)


@settings(max_examples=20, deadline=None)
@given(strength=st.floats(min_value=0.0, max_value=1.0))
def test_any_strength_renders_a_bounded_rgba(small_analysis, strength: float) -> None:
    result = small_analysis.render(strength)
    assert result.image.mode == "RGBA"
    assert 0 < max(result.image.size) <= 300
    assert result.has_ink


def test_blank_page_is_reported_not_raised() -> None:
    result = clean_ink(make_blank_page())
    assert not result.has_ink
    assert result.warning_codes == ("no_ink",)
    assert "No ink" in result.warnings[0].message


def test_photo_is_reported() -> None:
    result = clean_ink(make_photo_like(), kind="signature")
    assert "not_ink_like" in result.warning_codes
    assert "does not look like a signature" in " ".join(w.message for w in result.warnings)


def test_faint_ink_is_reported(standard_scans: list[SyntheticScan]) -> None:
    washed = standard_scans[0].image.point(lambda v: round(190 + v * 65 / 255))
    result = clean_ink(washed)
    assert "faint_ink" in result.warning_codes
    assert result.has_ink


def test_ink_cut_by_the_edge_and_tiny_ink_are_reported(
        standard_scans: list[SyntheticScan]) -> None:
    scan = standard_scans[0]
    x0, y0, x1, y1 = scan.truth.getbbox()
    cut = scan.image.crop((x0 + (x1 - x0) // 2, 0, scan.image.width, scan.image.height))
    assert "ink_at_edge" in clean_ink(cut).warning_codes
    tiny = scan.image.reduce(10)
    assert "small_ink" in clean_ink(tiny).warning_codes


def test_other_modes_are_accepted(standard_scans: list[SyntheticScan]) -> None:
    scan = standard_scans[5]  # black signature
    for image in (scan.image.convert("L"), scan.image.convert("RGBA"),
                  scan.image.convert("CMYK")):
        result = clean_ink(image, kind="signature")
        assert iou(result, scan) >= 0.9


def test_bad_arguments_raise_value_error(standard_scans: list[SyntheticScan]) -> None:
    image = standard_scans[0].image
    with pytest.raises(ValueError, match="strength"):
        clean_ink(image, strength=1.5)
    with pytest.raises(ValueError, match="kind"):
        clean_ink(image, kind="logo")
    with pytest.raises(ValueError, match="max_side"):
        clean_ink(image, max_side=10)


def test_output_keeps_resolution_information(standard_scans: list[SyntheticScan]) -> None:
    image = standard_scans[0].image.copy()
    image.info["dpi"] = (300, 300)
    assert clean_ink(image).dpi == (300.0, 300.0)
    assert Image.new("RGB", (10, 10)).info.get("dpi") is None
