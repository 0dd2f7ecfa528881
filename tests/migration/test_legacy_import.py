"""``origin-desk import-legacy``: good rows imported, every bad row reported with its line
number and reason, a second run changes nothing and says so; migrated certificates are
verifiable by number with their legacy status (CLI, public API) and refused as in-lieu
originals; balances open each office's e-wallet ledger once. On the embedded demo and on
PostgreSQL through the administrator's own login; an officer's plain SQL is refused."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from app.cli import main
from tests.migration.export import (
    CANCELLED_LEGACY,
    DEL_OPENING,
    GOOD,
    MUM_OPENING,
    REJECTED,
    REPLACED_BY,
    SCHEME_LEGACY,
    SUPERSEDED_LEGACY,
    VALID_LEGACY,
    write_export,
)
from tests.store.conftest import CentralDb

ADMIN = "admin@igcc.org.in"
OFFICER = "anita.deshpande@igcc.org.in"


def _wallets(engine: Engine) -> dict[str, tuple[Decimal, Decimal, int]]:
    """office code -> (balance, sum of its ledger lines, LEGACY-OPENING lines)."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT o.code, w.balance, "
            "(SELECT coalesce(sum(e.amount), 0) FROM wallet_entries e WHERE e.office_id = o.id), "
            "(SELECT count(*) FROM wallet_entries e WHERE e.office_id = o.id "
            " AND e.kind = 'top_up' AND e.reference = 'LEGACY-OPENING') "
            "FROM offices o LEFT JOIN office_wallets w ON w.office_id = o.id")).all()
    return {r[0]: (Decimal(str(r[1] or 0)), Decimal(str(r[2])), int(r[3])) for r in rows}


def _legacy_rows(engine: Engine) -> dict[str, tuple[str, str | None, str]]:
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT number, status, superseded_by, exporter_iec FROM legacy_certificates")).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _run(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["import-legacy", str(path), "--as", ADMIN, *extra])
    return code, capsys.readouterr().out


def _check_first_and_second_run(engine: Engine, path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    before = _wallets(engine)
    code, out = _run(path, capsys)
    assert code == 1, out  # some rows were rejected; the good ones are imported
    for line, reason in REJECTED.items():
        assert f"{path}: line {line}: {reason}" in out, (line, out)
    assert out.count(": line ") == len(REJECTED)
    assert "6 new, 0 already migrated" in out
    rows = _legacy_rows(engine)
    assert {n: s for n, (s, _, _) in rows.items()} == GOOD
    assert rows[SUPERSEDED_LEGACY] == ("superseded", REPLACED_BY, "AAACR5055K")
    after = _wallets(engine)
    assert after["MUM"][0] == before["MUM"][0] + MUM_OPENING
    assert after["DEL"][0] == before["DEL"][0] + DEL_OPENING
    assert after["CHE"] == before["CHE"]
    for code_, (balance, lines, openings) in after.items():
        assert balance == lines, code_  # the balance is the sum of the ledger
        assert openings == (1 if code_ in ("MUM", "DEL") else 0)

    code, out = _run(path, capsys, "--json")
    report = json.loads(out)
    assert code == 1
    assert report["new"] == 0 and report["already_migrated"] == 6
    assert report["certificates"] == {"new": 0, "already": 4}
    assert report["balances"] == {"new": 0, "already": 2}
    assert [r["line"] for r in report["rejected"]] == sorted(REJECTED)
    code, out = _run(path, capsys)
    assert "Nothing changed: 0 new, 6 already migrated" in out
    assert _legacy_rows(engine) == rows
    assert _wallets(engine) == after  # no double credit


def _verify_number(number: str, capsys: pytest.CaptureFixture[str],
                   *agency: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["verify", "--number", number, *agency])
    return code, json.loads(capsys.readouterr().out)


def _check_verifiable(capsys: pytest.CaptureFixture[str]) -> None:
    code, answer = _verify_number(VALID_LEGACY, capsys)
    assert code == 0 and answer["outcome"] == "valid", answer
    certificate = answer["certificate"]
    assert certificate["legacy"] is True
    assert certificate["office_code"] == "MUM" and certificate["issued_on"] == "2019-06-14"
    assert certificate["exporter_name"] == "Reliance Textiles Ltd"
    assert certificate["consignee_name"] == "Gulf Traders LLC"
    assert "legacy eCoO 1.0" in answer["message"]
    code, answer = _verify_number(CANCELLED_LEGACY, capsys)
    assert code == 1 and answer["outcome"] == "cancelled" and answer["certificate"]["legacy"]
    code, answer = _verify_number(SUPERSEDED_LEGACY, capsys)
    assert code == 1 and answer["outcome"] == "superseded"
    assert answer["certificate"]["superseded_by"] == REPLACED_BY
    assert REPLACED_BY in answer["message"]
    code, answer = _verify_number("MUM/CO/2019/004513", capsys)  # rejected: not imported
    assert code == 1 and answer["outcome"] == "unknown"
    code, answer = _verify_number(VALID_LEGACY, capsys, "--agency", "IGCC")
    assert code == 0 and answer["certificate"]["agency_code"] == "IGCC"
    code, answer = _verify_number(VALID_LEGACY, capsys, "--agency", "FIEO")  # not its agency
    assert code == 1 and answer["outcome"] == "unknown"


def test_import_on_the_demo(demo_engine: Engine, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    from app.models.legacy import is_legacy_certificate, is_migrated
    from app.store.central import session_factory

    path = write_export(tmp_path / "legacy.csv")
    with session_factory(demo_engine)() as session:  # not legacy by its number or date
        assert not is_migrated(session, SCHEME_LEGACY)
    assert not is_legacy_certificate(SCHEME_LEGACY, None)
    _check_first_and_second_run(demo_engine, path, capsys)
    _check_verifiable(capsys)
    with session_factory(demo_engine)() as session:  # migrated: legacy whatever its form
        assert is_migrated(session, SCHEME_LEGACY)
        assert not is_migrated(session, "MUM/CO/2019/004513")  # rejected: not imported


def test_an_officer_may_not_import_on_the_demo(demo_engine: Engine, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = write_export(tmp_path / "legacy.csv")
    assert main(["import-legacy", str(path), "--as", OFFICER]) == 2
    err = capsys.readouterr().err
    assert "not an agency administrator" in err and err.count("\n") == 1
    assert _legacy_rows(demo_engine) == {}


@pytest.mark.parametrize(("content", "says"), [
    (b"", "is empty"),
    (b"number,office\nX,MUM\n", "has no column record"),
    (b"\xff\xfer\x00e\x00c\x00", "not a CSV text file"),
])
def test_a_file_that_is_not_the_export_is_refused_in_one_line(
        demo_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        content: bytes, says: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    assert main(["import-legacy", str(path), "--as", ADMIN]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    assert main(["import-legacy", str(tmp_path / "missing.csv"), "--as", ADMIN]) == 2
    assert "Cannot read" in capsys.readouterr().err


def test_import_on_postgresql_through_the_administrators_login(
        central: CentralDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    owner = central.owner_engine()
    officer = central.engine_for(OFFICER)
    with officer.connect() as connection:  # before: in the scheme and dated after 2024
        assert connection.scalar(text("SELECT od_is_legacy_certificate(:n, DATE '2025-01-10')"),
                                 {"n": SCHEME_LEGACY}) is False
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", central.login_url(ADMIN))
    path = write_export(tmp_path / "legacy.csv")
    _check_first_and_second_run(owner, path, capsys)
    with owner.connect() as connection:  # the store stamped who imported them
        admin_id = connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": ADMIN})
        assert set(connection.scalars(text(
            "SELECT imported_by_id FROM legacy_certificates"))) == {admin_id}
    # verifiable by number through an officer's own login (od_certificate_details)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", central.login_url(OFFICER))
    _check_verifiable(capsys)
    with officer.connect() as connection:  # migrated: legacy whatever its form (0013)
        assert connection.scalar(text("SELECT od_is_legacy_certificate(:n, DATE '2025-01-10')"),
                                 {"n": SCHEME_LEGACY}) is True
        status = connection.execute(text(
            "SELECT status, superseded_by_number FROM od_certificate_status(:n)"),
            {"n": SUPERSEDED_LEGACY}).one()
        assert tuple(status) == ("superseded", REPLACED_BY)


def test_an_officer_cannot_import_on_postgresql(central: CentralDb, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Plain SQL through the officer's own login is refused by the store (ODREF), and the
    import command as the officer is refused in one line; nothing is written."""
    role = central.logins[OFFICER]
    with psycopg.connect(host="127.0.0.1", port=central.server.port, user=role,
                         dbname=central.name, autocommit=True) as connection:
        with pytest.raises(psycopg.Error) as refused:
            connection.execute(
                "INSERT INTO legacy_certificates (number, office_id, exporter_iec, "
                "exporter_name, consignee_name, destination_country, agreement, form, "
                "issued_on, status, goods_summary, imported_at) VALUES ('MUM/CO/2019/1', "
                "(SELECT id FROM offices WHERE code = 'MUM'), 'AAACR5055K', 'R', 'G', 'AE', "
                "'', '', '2019-06-14', 'valid', '', now())")
        assert refused.value.sqlstate == "ODREF"
        assert "Only an administrator of the agency" in str(refused.value)
        with pytest.raises(psycopg.Error) as refused:  # nor an opening balance
            connection.execute(
                "INSERT INTO wallet_entries (office_id, kind, amount, reference, at) VALUES "
                "((SELECT id FROM offices WHERE code = 'MUM'), 'top_up', 1000, "
                "'LEGACY-OPENING', now())")
        with pytest.raises(psycopg.Error):  # rows are never changed or removed
            connection.execute("DELETE FROM legacy_certificates")
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", central.login_url(OFFICER))
    path = write_export(tmp_path / "legacy.csv")
    assert main(["import-legacy", str(path), "--as", OFFICER]) == 2
    assert "not an agency administrator" in capsys.readouterr().err
    # an administrator's name with an officer's login: the store refuses the first batch
    assert main(["import-legacy", str(path), "--as", ADMIN]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert central.scalar("SELECT count(*) FROM legacy_certificates") == 0
    assert central.scalar("SELECT count(*) FROM wallet_entries WHERE reference = "
                          "'LEGACY-OPENING'") == 0


def test_migrated_certificates_verify_through_the_central_service(
        pg_hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str]) -> None:
    from fastapi.testclient import TestClient

    from app.hub.app import create_app

    central = pg_hub.extras["central"]
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", central.login_url(ADMIN))
    assert _run(write_export(tmp_path / "legacy.csv"), capsys)[0] == 1
    with TestClient(create_app(pg_hub), base_url="https://testserver") as client:
        answer = client.get("/api/v1/verify", params={"number": SUPERSEDED_LEGACY,
                                                       "agency": "IGCC"}).json()
        assert answer["outcome"] == "superseded" and answer["legacy"] is True
        assert answer["superseded_by"] == REPLACED_BY
        assert answer["issue_date"] == "2020-02-15"
        assert "legacy eCoO 1.0" in answer["message"]
        answer = client.get("/api/v1/verify", params={"number": VALID_LEGACY,
                                                       "agency": "IGCC"}).json()
        assert answer["outcome"] == "valid" and answer["legacy"] is True
        # the public page's answer (behind its captcha) names the legacy status too
        from app.hub import verify_html
        from app.hub.verify_lookup import look_up

        page = verify_html.answer_section(look_up(pg_hub.central, CANCELLED_LEGACY, "IGCC"))
        assert "Cancelled (legacy eCoO 1.0 status" in page
        # an issued certificate of this store is not legacy
        number = central.scalar("SELECT number FROM certificates WHERE status = 'valid' "
                                "ORDER BY id LIMIT 1")
        answer = client.get("/api/v1/verify", params={"number": number,
                                                       "agency": "IGCC"}).json()
        assert answer["outcome"] == "valid" and answer["legacy"] is False


def test_batches_of_a_thousand_rows_with_progress(demo_engine: Engine, tmp_path: Path) -> None:
    """2,500 rows: three batches (one transaction and one legacy.import audit event each),
    the progress told after each; the CLI draws its bar from the same counts."""
    from app.services.admin import AgencyAdmin
    from app.services.legacy_import import BATCH_ROWS, LegacyImport
    from tests.migration.export import HEADER

    rows = [HEADER] + [
        f"certificate,MUM/CO/2018/{i:06d},IGCC,MUM,AAACR5055K,R,G,AE,,,2018-03-01,valid,,x,,"
        for i in range(2500)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    told: list[tuple[int, int]] = []
    report = LegacyImport(AgencyAdmin.for_email(demo_engine, ADMIN)).run(
        path, progress=lambda done, total: told.append((done, total)))
    assert BATCH_ROWS == 1000
    assert report.new_certificates == 2500 and not report.rejected
    assert told == [(1000, 2500), (2000, 2500), (2500, 2500)]
    with demo_engine.connect() as connection:
        batches = connection.execute(text(
            "SELECT after FROM audit_events WHERE action = 'legacy.import' ORDER BY id")).all()
    assert len(batches) == 3
    assert [json.loads(b[0])["certificates"] if isinstance(b[0], str) else b[0]["certificates"]
            for b in batches] == [1000, 1000, 500]


def test_migrated_certificates_verify_through_the_service_on_the_demo(
        demo_hub, serve, demo_engine: Engine, tmp_path: Path,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The service on the embedded demo's store, and a desk asking it by number (the
    public API, no sign-in): the legacy status and the 'migrated' flag."""
    assert _run(write_export(tmp_path / "legacy.csv"), capsys)[0] == 1
    server = serve(demo_hub)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", server.url)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_CA_FILE", str(server.ca))
    # the service answers for a number with its agency: a legacy number's first part is
    # an office code, so the agency is named (the desk's Agency field)
    code, answer = _verify_number(SUPERSEDED_LEGACY, capsys)
    assert code == 1 and answer["outcome"] == "unknown"
    assert "name the issuing agency" in answer["notes"][0]
    code, answer = _verify_number(SUPERSEDED_LEGACY, capsys, "--agency", "IGCC")
    assert code == 1 and answer["outcome"] == "superseded"
    assert answer["certificate"]["legacy"] is True
    assert answer["certificate"]["superseded_by"] == REPLACED_BY
    assert answer["answered_by"] == f"the central service at {server.url}"
    code, answer = _verify_number(VALID_LEGACY, capsys, "--agency", "igcc")
    assert code == 0 and answer["certificate"]["issued_on"] == "2019-06-14"
    assert "legacy eCoO 1.0" in answer["message"]


def test_an_administrator_cannot_import_into_another_agencys_office(
        central: CentralDb) -> None:
    """Plain SQL through the administrator's own login: an office of another agency is
    refused by the store (ODREF); their own agency's office goes in, stamped by the store."""
    with central.owner_engine().begin() as connection:
        other = connection.scalar(text(
            "INSERT INTO agencies (code, name, email_domains) VALUES ('FIEO', 'Federation', "
            "'[\"fieo.org\"]') RETURNING id"))
        connection.execute(text(
            "INSERT INTO offices (agency_id, code, name, place, address, contact_email, "
            "contact_phone, ewallet_enabled, merchant_id, checksum_key) VALUES (:a, 'KOL', "
            "'Kolkata', 'Kolkata', '', '', '', true, '', '')"), {"a": other})
    insert = ("INSERT INTO legacy_certificates (number, office_id, exporter_iec, "
              "exporter_name, consignee_name, destination_country, agreement, form, issued_on, "
              "status, goods_summary, imported_at, imported_by_id) VALUES (%s, (SELECT id FROM "
              "offices WHERE code = %s), 'AAACR5055K', 'R', 'G', 'AE', '', '', '2019-06-14', "
              "'valid', '', '2000-01-01', NULL)")
    with psycopg.connect(host="127.0.0.1", port=central.server.port,
                         user=central.logins[ADMIN], dbname=central.name,
                         autocommit=True) as connection:
        with pytest.raises(psycopg.Error) as refused:
            connection.execute(insert, ("KOL/CO/2019/1", "KOL"))
        assert refused.value.sqlstate == "ODREF"
        assert "not one of your agency's" in str(refused.value)
        connection.execute(insert, ("MUM/CO/2019/1", "MUM"))
    row = central.scalar("SELECT imported_at > now() - interval '1 hour' AND imported_by_id = "
                         "(SELECT id FROM users WHERE email = :e) FROM legacy_certificates",
                         e=ADMIN)
    assert row is True
