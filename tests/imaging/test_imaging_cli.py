"""`origin-desk clean-image IN OUT.png`: writes atomically, refuses bad input cleanly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from app.cli import main
from bench.imaging_synthetic import SyntheticScan, make_blank_page


def scan_file(tmp_path: Path, scan: SyntheticScan, name: str = "scan.jpg") -> Path:
    path = tmp_path / name
    path.write_bytes(scan.jpeg)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_clean_image_writes_a_transparent_png(tmp_path: Path, standard_scans,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    scan = standard_scans[4]  # blue signature on yellowed paper
    out = tmp_path / "signature.png"
    code = main(["clean-image", str(scan_file(tmp_path, scan)), str(out),
                 "--kind", "signature", "--strength", "0.6"])
    assert code == 0
    printed = capsys.readouterr()
    assert "wrote" in printed.out and "signature.png" in printed.out
    with Image.open(out) as image:
        assert image.format == "PNG" and image.mode == "RGBA"
        assert max(image.size) <= 1200
        assert image.getchannel("A").getextrema() == (0, 255)
    assert leftovers(tmp_path) == []


def test_warnings_are_printed_and_the_file_still_written(
        tmp_path: Path, standard_scans, capsys: pytest.CaptureFixture[str]) -> None:
    faint = standard_scans[0].image.point(lambda v: round(190 + v * 65 / 255))
    src = tmp_path / "faint.png"
    faint.save(src)
    out = tmp_path / "stamp.png"
    assert main(["clean-image", str(src), str(out)]) == 0
    assert "warning: The ink is too faint" in capsys.readouterr().err
    assert out.exists()


def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    files = {
        "text.png": b"hello, this is not a picture\n",
        "empty.jpg": b"",
        "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
    }
    buffer = io.BytesIO()
    Image.effect_noise((300, 300), 30).convert("RGB").save(buffer, "JPEG")
    files["truncated.jpg"] = buffer.getvalue()[:1500]
    buffer = io.BytesIO()
    make_blank_page(size=(600, 800)).save(buffer, "PNG")
    files["blank.png"] = buffer.getvalue()
    paths = {}
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths[name] = path
    return paths


EXPECTED = {
    "text.png": "not an image",
    "empty.jpg": "empty",
    "drawing.svg": "SVG",
    "truncated.jpg": "truncated",
    "blank.png": "No ink",
}


def test_bad_inputs_exit_non_zero_and_write_nothing(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in"
    source.mkdir()
    target = tmp_path / "out"
    target.mkdir()
    for name, path in bad_inputs(source).items():
        out = target / f"{name}.png"
        code = main(["clean-image", str(path), str(out)])
        err = capsys.readouterr().err
        assert code == 2, name
        assert EXPECTED[name] in err, (name, err)
        assert err.startswith("origin-desk: ")
        assert not out.exists(), name
    assert list(target.iterdir()) == []


def test_existing_output_is_untouched_by_a_failed_run(tmp_path: Path, standard_scans) -> None:
    out = tmp_path / "stamp.png"
    assert main(["clean-image", str(scan_file(tmp_path, standard_scans[0])), str(out)]) == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main(["clean-image", str(bad), str(out)]) == 2
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_bad_arguments(tmp_path: Path, standard_scans, capsys: pytest.CaptureFixture[str]) -> None:
    src = scan_file(tmp_path, standard_scans[0])
    with pytest.raises(SystemExit) as exc:
        main(["clean-image", str(src), str(tmp_path / "o.png"), "--strength", "1.5"])
    assert exc.value.code == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert main(["clean-image", str(src), str(tmp_path / "o.jpg")]) == 2
    assert "PNG" in capsys.readouterr().err
    assert main(["clean-image", str(src), str(tmp_path / "missing" / "o.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "o.jpg").exists()
