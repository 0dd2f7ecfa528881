"""Fixtures for issuing: the demo store, a two-level test CA in the trust folder, SoftHSM2
tokens (RSA-2048 and ECDSA P-256) registered to a demo officer, and an Issuer.

The PKI and token code is ``tests/support/pki.py``; this file only wires it to the store.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.support.pki import KeySpec, SoftHsm, TestCA, TokenHandle, make_test_ca  # noqa: E402

PIN = "582947"  # distinctive, so that a leak into logs or stores is easy to grep
OFFICER_EMAIL = "anita.deshpande@igcc.org.in"  # MUM officer in the demo store


@pytest.fixture(scope="session")
def ca() -> TestCA:
    return make_test_ca("Issuing Tests")


@pytest.fixture
def trust_dir(data_home: Path, ca: TestCA) -> Path:
    """The default trust folder (<data>/trust) holds the test root."""
    return ca.write_trust_dir(data_home / "trust")


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    softhsm = SoftHsm(tmp_path / "hsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(softhsm.conf))
    monkeypatch.setenv("ORIGIN_DESK_PKCS11_MODULES", softhsm.module)
    return softhsm


@pytest.fixture
def make_token(hsm: SoftHsm, ca: TestCA) -> Callable[..., TokenHandle]:
    def make(label: str = "DSC-ISSUE", keys: tuple[KeySpec, ...] = (KeySpec(),),
             **kwargs: object) -> TokenHandle:
        return hsm.make_token(label, ca, keys, pin=PIN, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def config(demo_store: Path, trust_dir: Path, hsm: SoftHsm):  # type: ignore[no-untyped-def]
    from app.config import load_config

    return load_config()


@pytest.fixture
def officer_id(demo_engine) -> int:  # type: ignore[no-untyped-def]
    from app.services.dsc import user_id_for_email

    return user_id_for_email(demo_engine, OFFICER_EMAIL)


def register(engine, config, officer_id: int, token: TokenHandle, label: str = "sign",  # type: ignore[no-untyped-def]
             ca: TestCA | None = None):
    from app.services.dsc import register_dsc
    from app.signing.certificates import CertificateInfo

    cert = CertificateInfo.from_der(token.certs[label].der, key_id=token.certs[label].key_id)
    intermediates = [ca.sub_der] if ca is not None else []
    return register_dsc(engine, config, user_id=officer_id, certificate=cert,
                        intermediates=intermediates)


@pytest.fixture(params=["rsa", "ec"])
def registered_token(request, make_token, demo_engine, config, officer_id, ca):  # type: ignore[no-untyped-def]
    token = make_token(f"DSC-{request.param.upper()}", (KeySpec("sign", request.param),))
    register(demo_engine, config, officer_id, token, ca=ca)
    return token


@pytest.fixture
def rsa_token(make_token, demo_engine, config, officer_id, ca) -> TokenHandle:  # type: ignore[no-untyped-def]
    token = make_token("DSC-RSA", (KeySpec("sign", "rsa"),))
    register(demo_engine, config, officer_id, token, ca=ca)
    return token


@pytest.fixture
def issuer(demo_engine, config, officer_id):  # type: ignore[no-untyped-def]
    from app.services.issuing import Issuer

    return Issuer(demo_engine, config, officer_id)


@pytest.fixture
def open_session(issuer) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    opened = []

    def open_(pin: str = PIN):  # type: ignore[no-untyped-def]
        session = issuer.open_token_session(lambda info, warnings: pin)
        opened.append(session)
        return session

    yield open_
    for session in opened:
        session.close()


@pytest.fixture
def approved(demo_engine, officer_id):  # type: ignore[no-untyped-def]
    """approved(kind, n=1) -> application ids the officer may issue, of that kind."""
    from sqlalchemy import select

    from app.models import Application, User
    from app.models.enums import ApplicationStatus
    from app.store.central import session_factory

    def pick(kind: str, n: int = 1) -> list[int]:
        with session_factory(demo_engine)() as session:
            officer = session.get(User, officer_id)
            offices = [o.id for o in officer.offices]
            ids = list(session.scalars(
                select(Application.id).where(
                    Application.kind == kind, Application.status == ApplicationStatus.APPROVED,
                    Application.office_id.in_(offices),
                ).order_by(Application.id).limit(n)
            ))
        assert len(ids) == n, f"the demo store has fewer than {n} approved {kind} applications"
        return ids

    return pick
