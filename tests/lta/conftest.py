"""Fixtures for long-term signatures: the certomancer PKI (root, sub CA, OCSP, CRLs, TSA)
served on 127.0.0.1 for the whole session, an officer token whose key was generated on
SoftHSM2 and whose certificate certomancer issued, the demo store with that officer's DSC
registered and the desk configured with the timestamp server.

The PKI code is ``tests/support/certomancer_pki.py``; this file wires it to the store.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.support.certomancer_pki import CertomancerPki  # noqa: E402
from tests.support.pki import SoftHsm, TokenHandle  # noqa: E402

PIN = "640281"  # distinctive, so that a leak into logs or stores is easy to grep
OFFICER_EMAIL = "anita.deshpande@igcc.org.in"  # MUM officer in the demo store
TOKEN_LABEL = "DSC-LTA"


@pytest.fixture(scope="session")
def lta_hsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    return SoftHsm(tmp_path_factory.mktemp("lta-hsm"))


@pytest.fixture(scope="session")
def lta_pki(tmp_path_factory: pytest.TempPathFactory, lta_hsm: SoftHsm
            ) -> Iterator[CertomancerPki]:
    pki = CertomancerPki(tmp_path_factory.mktemp("lta-pki"), officer_days=30)
    pki.make_officer_token(lta_hsm, TOKEN_LABEL, PIN)
    pki.start()
    try:
        yield pki
    finally:
        pki.stop()


@pytest.fixture
def pki(lta_pki: CertomancerPki) -> Iterator[CertomancerPki]:
    """The session's PKI, with every service answering at the start of each test."""
    lta_pki.start_services()
    yield lta_pki
    lta_pki.start_services()


@pytest.fixture
def officer_token(lta_hsm: SoftHsm, lta_pki: CertomancerPki,
                  monkeypatch: pytest.MonkeyPatch) -> TokenHandle:
    monkeypatch.setenv("SOFTHSM2_CONF", str(lta_hsm.conf))
    monkeypatch.setenv("ORIGIN_DESK_PKCS11_MODULES", lta_hsm.module)
    monkeypatch.setenv("ORIGIN_DESK_TOKEN_LABEL", TOKEN_LABEL)
    return lta_hsm.tokens[TOKEN_LABEL]


@pytest.fixture
def trust_dir(data_home: Path, lta_pki: CertomancerPki) -> Path:
    return lta_pki.write_trust_dir(data_home / "trust")


@pytest.fixture
def with_timestamps(pki: CertomancerPki, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ORIGIN_DESK_TIMESTAMP_URL", pki.timestamp_url)
    return pki.timestamp_url


@pytest.fixture
def officer_id(demo_engine) -> int:  # type: ignore[no-untyped-def]
    from app.services.dsc import user_id_for_email

    return user_id_for_email(demo_engine, OFFICER_EMAIL)


@pytest.fixture
def make_issuer(demo_engine, trust_dir, officer_token, officer_id, lta_pki):  # type: ignore[no-untyped-def]
    """make_issuer() -> an Issuer for the officer (DSC registered), with the settings of
    the moment (set ORIGIN_DESK_TIMESTAMP_URL first, or use ``with_timestamps``)."""
    from app.config import load_config
    from app.services.dsc import register_dsc
    from app.services.issuing import Issuer
    from app.signing.certificates import CertificateInfo

    def make() -> Issuer:
        config = load_config()
        cert = officer_token.certs["sign"]
        register_dsc(demo_engine, config, user_id=officer_id,
                     certificate=CertificateInfo.from_der(cert.der, key_id=cert.key_id),
                     intermediates=[lta_pki.sub_der])
        return Issuer(demo_engine, config, officer_id)

    return make


@pytest.fixture
def approved(demo_engine, officer_id):  # type: ignore[no-untyped-def]
    """approved(n=1) -> ids of approved applications the officer may issue."""
    from sqlalchemy import select

    from app.models import Application, User
    from app.models.enums import ApplicationStatus
    from app.store.central import session_factory

    def pick(n: int = 1) -> list[int]:
        with session_factory(demo_engine)() as session:
            offices = [o.id for o in session.get(User, officer_id).offices]
            ids = list(session.scalars(
                select(Application.id).where(
                    Application.status == ApplicationStatus.APPROVED,
                    Application.office_id.in_(offices),
                ).order_by(Application.id).limit(n)
            ))
        assert len(ids) == n
        return ids

    return pick

