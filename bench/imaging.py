"""Benchmark of the stamp and signature clean-up (issue 6).

``run()`` returns:
- ``clean_a4_ms``: median time of ``clean_ink`` on a 2480x3508 (A4, 300 dpi) stamp scan;
- ``clean_photo_ms``: the same for a 4000x3000 (12 MP) photo of a signature, with a lamp
  gradient and a hand's shadow;
- ``clean_iou_mean``: mean IoU of the result's ink mask (alpha > 128) with the true ink
  over the standard synthetic set (every ink, paper, both kinds; JPEG quality 60);
- ``otsu_iou_mean``: a global Otsu threshold of the greyscale on the same set.
The synthetic scans come from ``bench/imaging_synthetic.py`` (shared with the tests).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.imaging import clean_ink  # noqa: E402
from bench.imaging_synthetic import (  # noqa: E402
    ScanSpec,
    make_scan,
    mask_iou,
    otsu_mask,
    result_mask_on_page,
    standard_set,
)

RUNS = 5


def _median_ms(image, kind: str) -> float:  # type: ignore[no-untyped-def]
    clean_ink(image, kind=kind)  # warm-up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        clean_ink(image, kind=kind)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run() -> dict[str, float]:
    a4 = make_scan(ScanSpec("stamp", "blue", "off-white", size=(2480, 3508), seed=11))
    photo = make_scan(ScanSpec("signature", "black", "white", size=(4000, 3000), seed=12))
    clean_a4_ms = _median_ms(a4.image, "stamp")
    clean_photo_ms = _median_ms(photo.image, "signature")

    ours, otsu = [], []
    for scan in standard_set():
        result = clean_ink(scan.image, kind=scan.spec.kind)
        predicted = result_mask_on_page(result.image.getchannel("A"), result.box,
                                        scan.image.size)
        ours.append(mask_iou(predicted, scan.truth))
        otsu.append(mask_iou(otsu_mask(scan.image), scan.truth))
    return {
        "clean_a4_ms": round(clean_a4_ms, 1),
        "clean_photo_ms": round(clean_photo_ms, 1),
        "clean_iou_mean": round(statistics.mean(ours), 3),
        "otsu_iou_mean": round(statistics.mean(otsu), 3),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
