"""Where the ink is: its box on the page, ignoring specks far away from it."""

from __future__ import annotations

from array import array

from PIL import Image


def ink_box(mask: Image.Image) -> tuple[int, int, int, int] | None:
    """The box of the ink, ignoring small specks separated from it by empty space."""
    if mask.getbbox() is None:
        return None
    cols = _kept_span(_profile(mask, horizontal=True))
    if cols is None:
        return None
    rows = _kept_span(_profile(mask.crop((cols[0], 0, cols[1], mask.height)), horizontal=False))
    if rows is None:
        return None
    cols2 = _kept_span(_profile(mask.crop((0, rows[0], mask.width, rows[1])), horizontal=True))
    if cols2 is not None:
        cols = cols2
    return cols[0], rows[0], cols[1], rows[1]


def _profile(mask: Image.Image, horizontal: bool) -> list[float]:
    """Ink pixels per column (horizontal) or per row."""
    w, h = mask.size
    f = mask.convert("F")
    line = f.resize((w, 1) if horizontal else (1, h), Image.Resampling.BOX)
    n = h if horizontal else w
    return [v * n / 255.0 for v in array("f", line.tobytes())]


def _kept_span(profile: list[float]) -> tuple[int, int] | None:
    """First and past-last index of the runs holding the ink; tiny isolated runs dropped."""
    n = len(profile)
    gap = max(3, n // 40)
    runs: list[list[float]] = []  # [start, end, mass]
    quiet = gap + 1
    for i, v in enumerate(profile):
        if v > 0.5:
            if runs and quiet <= gap:
                runs[-1][1] = i + 1
                runs[-1][2] += v
            else:
                runs.append([i, i + 1, v])
            quiet = 0
        else:
            quiet += 1
    if not runs:
        return None
    total = sum(r[2] for r in runs)
    kept = [r for r in runs if r[2] >= 0.02 * total]
    return int(min(r[0] for r in kept)), int(max(r[1] for r in kept))
