"""``origin-desk export-ubl`` and ``import-ubl`` on the embedded demo, on a desk configured
with the central PostgreSQL store (the officer's own login: row-level security decides what
can be exported) and through the central service: export, import, every field equal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli import main
from app.documents.certificate_json import certificate_data_from_dict
from app.models import Certificate
from app.services.central import certificate_data_for
from app.services.ubl_exchange import file_name
from tests.hub.conftest import PASSWORD, demo_hub, serve, set_password  # noqa: F401 - fixtures
from tests.issuing.conftest import OFFICER_EMAIL
from tests.store.conftest import CentralDb, central, officer_emails, pg_server, pg_template  # noqa: F401


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """An in-memory keyring: tests never touch the machine's real one."""
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def _issued_numbers(engine: Any, count: int) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(Certificate.number).order_by(Certificate.id)
                                    .limit(count)))


def _stored(engine: Any, number: str) -> Any:
    with Session(engine) as session:
        return certificate_data_for(session, number)[0]


def test_on_the_demo_certificates_go_out_as_ubl_and_come_back_equal(
    demo_engine, tmp_path: Path, capsys  # type: ignore[no-untyped-def]
) -> None:
    numbers = _issued_numbers(demo_engine, 3)
    out = tmp_path / "ubl"
    code, lines, err = _run(capsys, "export-ubl", *numbers, "--out", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(file_name(n) for n in numbers)
    for number in numbers:
        assert f"wrote {out / file_name(number)}: certificate {number}" in lines
        code, printed, err = _run(capsys, "import-ubl", str(out / file_name(number)),
                                  "--compare")
        assert code == 0, err
        answer = json.loads(printed)
        assert answer["valid_ubl"] is True
        assert answer["store"] == {"found": True, "status": "valid", "matches": True,
                                   "differs_in": []}
        assert certificate_data_from_dict(answer["certificate"]) == _stored(demo_engine, number)


def test_a_changed_document_is_read_but_differs_from_the_store(
    demo_engine, tmp_path: Path, capsys  # type: ignore[no-untyped-def]
) -> None:
    number = _issued_numbers(demo_engine, 1)[0]
    assert _run(capsys, "export-ubl", number, "--out", str(tmp_path))[0] == 0
    path = tmp_path / file_name(number)
    stored = _stored(demo_engine, number)
    path.write_text(path.read_text(encoding="utf-8").replace(
        f"<cbc:Name>{stored.consignee.name.replace('&', '&amp;')}</cbc:Name>",
        "<cbc:Name>Someone Else Trading LLC</cbc:Name>", 1), encoding="utf-8")
    code, printed, err = _run(capsys, "import-ubl", str(path), "--compare")
    assert code == 1, err
    answer = json.loads(printed)
    assert answer["store"]["matches"] is False and answer["store"]["differs_in"] == ["consignee"]


def test_bad_input_changes_nothing_and_says_what_is_wrong_in_one_line(
    demo_engine, tmp_path: Path, capsys  # type: ignore[no-untyped-def]
) -> None:
    good = _issued_numbers(demo_engine, 1)[0]
    out = tmp_path / "out"
    code, _, err = _run(capsys, "export-ubl", good, "NOPE/2026/9999999", "--out", str(out))
    assert code == 2 and "Certificate NOPE/2026/9999999 is not in the store" in err
    assert not out.exists()  # the good one was not written either
    code, _, err = _run(capsys, "export-ubl", "no spaces please", "--out", str(out))
    assert code == 2 and "is not a certificate number" in err and len(err.splitlines()) == 1
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = _run(capsys, "export-ubl", good, "--out", str(a_file))
    assert code == 2 and "is not a directory" in err

    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<CertificateOfOrigin xmlns='urn:oasis:names:specification:ubl:"
                       b"schema:xsd:CertificateOfOrigin-2'><Colour/></CertificateOfOrigin>")
    code, printed, err = _run(capsys, "import-ubl", str(broken))
    assert code == 2 and printed == ""
    assert err == (f"origin-desk: {broken}: /CertificateOfOrigin/Colour: not an element of "
                   "CertificateOfOrigin that Origin Desk reads (UBL 2.1 has no such element "
                   "there, or it carries data this product would drop).")
    code, _, err = _run(capsys, "import-ubl", str(tmp_path / "missing.xml"))
    assert code == 2 and "no such file" in err


def test_on_a_desk_configured_with_postgresql_the_officers_login_decides_what_is_exported(
    central: CentralDb, tmp_path: Path, monkeypatch, capsys  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    office, emails = next(iter(officer_emails(central).items()))
    email = emails[0]
    own = str(central.scalar(
        "SELECT c.number FROM certificates c JOIN offices o ON o.id = c.office_id "
        "WHERE o.code = :o ORDER BY c.id LIMIT 1", o=office))
    other = str(central.scalar(
        "SELECT c.number FROM certificates c JOIN offices o ON o.id = c.office_id "
        "WHERE o.code <> :o ORDER BY c.id LIMIT 1", o=office))
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", central.login_url(email))
    out = tmp_path / "ubl"
    code, lines, err = _run(capsys, "export-ubl", own, "--out", str(out))
    assert code == 0, err
    code, printed, err = _run(capsys, "import-ubl", str(out / file_name(own)), "--compare")
    assert code == 0, err
    stored = _stored(central.owner_engine(), own)
    assert certificate_data_from_dict(json.loads(printed)["certificate"]) == stored

    # another office's certificate: row-level security hides it from this officer
    code, _, err = _run(capsys, "export-ubl", other, "--out", str(tmp_path / "other"))
    assert code == 2 and f"Certificate {other} is not in the store" in err
    assert not (tmp_path / "other").exists()


def test_through_the_central_service_the_certificate_is_read_over_https(
    tmp_path: Path, demo_hub, serve, demo_engine, monkeypatch, capsys  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    import keyring

    from app.services.central_http import KEYRING_SERVICE

    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", server.url)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_CA_FILE", str(server.ca))
    keyring.set_password(KEYRING_SERVICE, f"{OFFICER_EMAIL}@{server.url}", PASSWORD)
    number = _issued_numbers(demo_engine, 1)[0]
    out = tmp_path / "ubl"

    code, _, err = _run(capsys, "export-ubl", number, "--out", str(out))
    assert code == 2 and "--officer EMAIL" in err and not out.exists()

    code, lines, err = _run(capsys, "export-ubl", number, "--out", str(out),
                            "--officer", OFFICER_EMAIL)
    assert code == 0, err
    code, printed, err = _run(capsys, "import-ubl", str(out / file_name(number)), "--compare",
                              "--officer", OFFICER_EMAIL)
    assert code == 0, err
    answer = json.loads(printed)
    assert answer["store"]["matches"] is True
    assert certificate_data_from_dict(answer["certificate"]) == _stored(demo_engine, number)
