"""The command line: demo and list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


def test_list_filters_and_prints_json_lines(demo_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--office", "mum", "--status", "approved", "--kind", "preferential", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines
    for line in lines:
        record = json.loads(line)
        assert (record["office"], record["status"], record["kind"]) == ("MUM", "approved", "preferential")
        assert record["application"].startswith("APP-")


def test_list_table(demo_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--status", "returned"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Application") and out[-1].endswith("application(s)")
    assert int(out[-1].split()[0]) == len(out) - 2 > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--status", "pending"], "--status 'pending' is not known"),
        (["list", "--kind", "fast"], "--kind 'fast' is not known"),
        (["list", "--office", "XYZ"], "--office 'XYZ': no office with that code"),
    ],
)
def test_list_bad_arguments(demo_store: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_demo_reset_recreates_the_store(data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = data_home / "demo-central.sqlite"
    assert main(["demo"]) == 0
    assert store.exists()
    store.write_bytes(b"broken")
    assert main(["demo"]) == 0 and "use --reset" in capsys.readouterr().out
    assert main(["demo", "--reset"]) == 0
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    # the 2,000 seeded applications and the back-to-back ones of app/store/demo_foreign.py
    assert len(capsys.readouterr().out.splitlines()) == 2006
    # the demo comes with its SoftHSM2 token, which `tokens` finds
    assert main(["tokens", "--json"]) == 0
    tokens = json.loads(capsys.readouterr().out)["tokens"]
    assert [t["label"] for t in tokens] == ["ORIGIN-DESK-DEMO"]


def test_bad_setting_is_reported_by_the_cli(demo_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ORIGIN_DESK_LOG_LEVEL", "chatty")
    assert main(["list"]) == 2
    assert "ORIGIN_DESK_LOG_LEVEL" in capsys.readouterr().err


def test_render_writes_the_preview_of_a_demo_application(demo_store: Path, tmp_path: Path) -> None:
    import subprocess

    out = tmp_path / "preview.pdf"
    assert main(["render", "APP-2026-000042", "--out", str(out)]) == 0
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "APP-2026-000042" in text


def test_render_unknown_application_says_so(demo_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "none.pdf"
    assert main(["render", "APP-1999-999999", "--out", str(out)]) == 2
    assert "APP-1999-999999 is not in the store" in capsys.readouterr().err
    assert not out.exists()


def test_render_of_an_issued_application_writes_its_signed_pdf(
    demo_engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import select, update
    from sqlalchemy.orm import Session

    from app.models import Application, Certificate

    signed = b"%PDF-1.7 stands in for a signed certificate\n%%EOF\n"
    with Session(demo_engine) as session, session.begin():
        certificate = session.scalars(select(Certificate).order_by(Certificate.id)).first()
        session.execute(update(Certificate).where(Certificate.id == certificate.id).values(pdf=signed))
        number = session.get(Application, certificate.application_id).number
        certificate_number = certificate.number
    out = tmp_path / "issued.pdf"
    assert main(["render", number, "--out", str(out)]) == 0
    assert out.read_bytes() == signed
    assert f"the issued, signed certificate {certificate_number}" in capsys.readouterr().out
