"""`origin-desk render` through app.cli.main, with certificate data from JSON."""

from __future__ import annotations

import subprocess

from app.cli import main
from app.documents.certificate_json import certificate_data_to_json
from app.documents.samples import sample_certificate


def test_render_from_json(tmp_path, capsys):
    data = sample_certificate("IUCEPA", goods=3)
    source = tmp_path / "cert.json"
    source.write_text(certificate_data_to_json(data), encoding="utf-8")
    out = tmp_path / "cert.pdf"
    assert main(["render", "--from-json", str(source), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert data.certificate_number in text and "DRAFT" in text
    assert not (tmp_path / "cert.pdf.part").exists()


def test_render_errors_are_user_facing(tmp_path, capsys):
    out = tmp_path / "x.pdf"
    assert main(["render", "--from-json", str(tmp_path / "missing.json"), "--out", str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "gift"}', encoding="utf-8")
    assert main(["render", "--from-json", str(bad), "--out", str(out)]) == 2
    assert "certificate data" in capsys.readouterr().err
    assert main(["render", "--out", str(out)]) == 2
    assert "name the application" in capsys.readouterr().err
    assert not out.exists()
